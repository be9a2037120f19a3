-- The notes of the example: timestamps in integer milliseconds since the epoch (UTC).
CREATE TABLE notes (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
