// `/notes`: notes kept in a database (SQLite by default, MySQL/MariaDB by `DATABASE_URL`), the same
// rows whichever backend or process serves the request. The storage is in ./store.ts; here are the
// routes and the validation, checked in this order: the JSON body (415/413/400 as `POST /echo`),
// its shape (`invalid_body`), the title, the body. The native twin is native/src/examples/notes.rs.
//
// - `POST /notes` `{"title","body"}` → 201 with the note and a `location`;
// - `GET /notes?limit=&after=` → `{"notes":[…],"next":id|null}`, newest first;
// - `GET|PUT|DELETE /notes/{id}` → the note, the updated note, 204.
import { type ApiContext, ApiError, type Handler, type Route, readJson } from '../../api';
import { type Note, type NotesStore, openNotesStore } from './store';

export type { NotesStore } from './store';

// The notes' store is a resource of the server: made by the setup hook, closed by the close hook.
declare module '../../app/hooks' {
  interface Resources {
    readonly notes: NotesStore;
  }
}

/** Longest title, in Unicode code points (at least 1). */
const MAX_TITLE_CHARS = 200;
/** Longest body, in Unicode code points. */
const MAX_BODY_CHARS = 10_000;
/** Notes per page when `limit` is not given, and at most. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** The notes' database for `databaseUrl` (config.app.databaseUrl), not connected yet: the setup
 * hook (src/app/hooks.ts) makes it and tries the migrations once, which never fails the start. */
export async function openNotes(databaseUrl: string): Promise<NotesStore> {
  const store = openNotesStore(databaseUrl);
  await store.isUp();
  return store;
}

/** The notes routes. */
export function notesRoutes(): Route[] {
  return [
    { path: '/notes', methods: { GET: notesGet, POST: notesPost } },
    { path: '/notes/{id}', methods: { GET: noteGet, PUT: notePut, DELETE: noteDelete } },
  ];
}

/** A note as the API prints it. */
function noteOut(note: Note) {
  return {
    id: note.id,
    title: note.title,
    body: note.body,
    createdAt: new Date(note.createdAt).toISOString(),
    updatedAt: new Date(note.updatedAt).toISOString(),
  };
}

function store(context: ApiContext): NotesStore {
  return context.resources.notes;
}

/** `POST /notes`: stores a note; 201 with it and its `location`. */
const notesPost: Handler = async (request, context) => {
  const { title, body } = noteFields(await readJson(request, context));
  const note = await store(context).create(title, body, Date.now());
  return {
    status: 201,
    headers: { location: `${context.basePath}/notes/${note.id}` },
    body: noteOut(note),
  };
};

/** `GET /notes?limit=&after=`: newest first; `next` is the `after` of the next page. */
const notesGet: Handler = async (request, context) => {
  const limitText = request.query.get('limit');
  const afterText = request.query.get('after');
  let limit = DEFAULT_LIMIT;
  if (limitText !== null) {
    const parsed = parsePositive(limitText);
    if (parsed === undefined || parsed > MAX_LIMIT) throw new ApiError('invalid_query');
    limit = parsed;
  }
  let after: number | undefined;
  if (afterText !== null) {
    after = parsePositive(afterText);
    if (after === undefined) throw new ApiError('invalid_query');
  }
  const found = await store(context).list(after, limit + 1);
  const notes = found.slice(0, limit);
  const next = found.length > limit ? (notes[notes.length - 1]?.id ?? null) : null;
  return { status: 200, body: { notes: notes.map(noteOut), next } };
};

/** `GET /notes/{id}`. */
const noteGet: Handler = async (request, context) => {
  const id = noteId(request.params.id);
  const note = await store(context).get(id);
  if (note === undefined) throw new ApiError('note_not_found');
  return { status: 200, body: noteOut(note) };
};

/** `PUT /notes/{id}`: replaces the title and body. The id is checked first, then the body, then
 * whether the note exists. */
const notePut: Handler = async (request, context) => {
  const id = noteId(request.params.id);
  const { title, body } = noteFields(await readJson(request, context));
  const note = await store(context).update(id, title, body, Date.now());
  if (note === undefined) throw new ApiError('note_not_found');
  return { status: 200, body: noteOut(note) };
};

/** `DELETE /notes/{id}`: 204, no body. */
const noteDelete: Handler = async (request, context) => {
  const id = noteId(request.params.id);
  if (!(await store(context).delete(id))) throw new ApiError('note_not_found');
  return { status: 204, body: undefined };
};

/** The `{id}` of the path: a canonical positive integer up to 2^53 − 1, else 400 `invalid_note_id`. */
function noteId(text: string | undefined): number {
  const id = parsePositive(text ?? '');
  if (id === undefined) throw new ApiError('invalid_note_id');
  return id;
}

/** `^[1-9][0-9]*$` and at most 2^53 − 1. */
function parsePositive(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The title and body of a note's JSON: an object with exactly `title` and `body`, both strings
 * (else `invalid_body`), the title 1–200 code points (`invalid_note_title`), the body at most
 * 10000 (`invalid_note_body`). */
function noteFields(value: unknown): { title: string; body: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('invalid_body');
  const fields = value as Record<string, unknown>;
  const { title, body } = fields;
  if (Object.keys(fields).length !== 2 || typeof title !== 'string' || typeof body !== 'string') {
    throw new ApiError('invalid_body');
  }
  const titleLength = [...title].length;
  if (titleLength < 1 || titleLength > MAX_TITLE_CHARS) throw new ApiError('invalid_note_title');
  if ([...body].length > MAX_BODY_CHARS) throw new ApiError('invalid_note_body');
  return { title, body };
}
