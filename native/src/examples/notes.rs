//! `/notes`: notes kept in a database (SQLite by default, MySQL/MariaDB by `DATABASE_URL`),
//! the same rows whichever backend or process serves the request. The storage is in
//! [`super::notes_db`]; here are the routes and the validation, checked in this order: the
//! JSON body (415/413/400 as `POST /echo`), its shape (`invalid_body`), the title, the body.
//!
//! - `POST /notes` `{"title","body"}` → 201 with the note and a `location`;
//! - `GET /notes?limit=&after=` → `{"notes":[…],"next":id|null}`, newest first;
//! - `GET|PUT|DELETE /notes/{id}` → the note, the updated note, 204.

use serde::Serialize;
use serde_json::Value;

use super::hello::query_param;
use super::notes_db::{now_ms, Note, NotesDb, Unavailable};
use crate::api::prelude::*;

/// Longest title, in Unicode code points (at least 1).
const MAX_TITLE_CHARS: usize = 200;
/// Longest body, in Unicode code points.
const MAX_BODY_CHARS: usize = 10_000;
/// Notes per page when `limit` is not given, and at most.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;
/// The largest id (and `after`) accepted: 2^53 − 1, the largest integer JSON carries exactly.
const MAX_ID: i64 = (1 << 53) - 1;

/// The notes routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notes", get(notes_get).post(notes_post))
        .route(
            "/notes/{id}",
            get(note_get).put(note_put).delete(note_delete),
        )
}

/// A note as the API prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NoteOut<'a> {
    id: i64,
    title: &'a str,
    body: &'a str,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Note> for NoteOut<'a> {
    fn from(note: &'a Note) -> Self {
        Self {
            id: note.id,
            title: &note.title,
            body: &note.body,
            created_at: iso_time(note.created_at),
            updated_at: iso_time(note.updated_at),
        }
    }
}

/// A page of notes.
#[derive(Serialize)]
struct Page<'a> {
    notes: Vec<NoteOut<'a>>,
    next: Option<i64>,
}

/// The database, or 503 when the app was set up without one.
fn database(state: &AppState) -> Result<&NotesDb, AppError> {
    state
        .resources
        .notes
        .as_ref()
        .ok_or_else(|| Unavailable::NoAnswer.into())
}

/// `POST /notes`: stores a note; 201 with it and its `location`.
async fn notes_post(
    State(state): State<AppState>,
    Json(value): Json<Value>,
) -> Result<Response, AppError> {
    let (title, body) = note_fields(&value)?;
    let note = database(&state)?.create(title, body, now_ms()).await?;
    let mut response = json(StatusCode::CREATED, &NoteOut::from(&note));
    let location = format!("{}/notes/{}", state.config.base_path, note.id);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /notes?limit=&after=`: newest first; `next` is the `after` of the next page.
async fn notes_get(State(state): State<AppState>, uri: Uri) -> Result<Response, AppError> {
    let query = uri.query().unwrap_or("");
    let limit = match query_param(query, "limit") {
        Some(text) => parse_positive(&text)
            .filter(|&n| n <= MAX_LIMIT)
            .ok_or(AppError::new(ErrorCode::InvalidQuery))?,
        None => DEFAULT_LIMIT,
    };
    let after = match query_param(query, "after") {
        Some(text) => Some(parse_positive(&text).ok_or(AppError::new(ErrorCode::InvalidQuery))?),
        None => None,
    };
    let mut notes = database(&state)?.list(after, limit + 1).await?;
    let more = notes.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    notes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more {
        notes.last().map(|n| n.id)
    } else {
        None
    };
    let page = Page {
        notes: notes.iter().map(NoteOut::from).collect(),
        next,
    };
    Ok(json(StatusCode::OK, &page))
}

/// `GET /notes/{id}`.
async fn note_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = note_id(&id)?;
    let note = database(&state)?.get(id).await?.ok_or(not_found())?;
    Ok(json(StatusCode::OK, &NoteOut::from(&note)))
}

/// `PUT /notes/{id}`: replaces the title and body. The id is checked first, then the body (read
/// by the core's [`Json`] rules only then), then whether the note exists.
async fn note_put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    use axum::extract::FromRequest;
    let id = note_id(&id)?;
    let Json(value) = Json::<Value>::from_request(request, &state).await?;
    let (title, body) = note_fields(&value)?;
    let note = database(&state)?
        .update(id, title, body, now_ms())
        .await?
        .ok_or(not_found())?;
    Ok(json(StatusCode::OK, &NoteOut::from(&note)))
}

/// `DELETE /notes/{id}`: 204, no body.
async fn note_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = note_id(&id)?;
    if database(&state)?.delete(id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found())
    }
}

/// 404 `note_not_found`.
fn not_found() -> AppError {
    AppError::new(ErrorCode::NoteNotFound)
}

/// The `{id}` of the path: a canonical positive integer up to 2^53 − 1, else 400
/// `invalid_note_id`.
fn note_id(text: &str) -> Result<i64, AppError> {
    parse_positive(text).ok_or(AppError::new(ErrorCode::InvalidNoteId))
}

/// `^[1-9][0-9]*$` and at most 2^53 − 1.
fn parse_positive(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let canonical = matches!(bytes.first(), Some(b'1'..=b'9'))
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes.len() <= 16;
    if !canonical {
        return None;
    }
    text.parse::<i64>().ok().filter(|&n| n <= MAX_ID)
}

/// The title and body of a note's JSON: an object with exactly `title` and `body`, both strings
/// (else `invalid_body`), the title 1–200 code points (`invalid_note_title`), the body at most
/// 10000 (`invalid_note_body`).
fn note_fields(value: &Value) -> Result<(&str, &str), AppError> {
    let invalid = || AppError::new(ErrorCode::InvalidBody);
    let object = value.as_object().ok_or_else(invalid)?;
    if object.len() != 2 {
        return Err(invalid());
    }
    let title = object
        .get("title")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    let body = object
        .get("body")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    if !(1..=MAX_TITLE_CHARS).contains(&title.chars().count()) {
        return Err(AppError::new(ErrorCode::InvalidNoteTitle));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::new(ErrorCode::InvalidNoteBody));
    }
    Ok((title, body))
}

/// Milliseconds since the epoch as JavaScript's `Date.prototype.toISOString()` prints them:
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (years outside 0–9999 as `±YYYYYY`).
pub fn iso_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hours, minutes) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (seconds, millis) = (in_day / 1000 % 60, in_day % 1000);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    format!("{year}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
