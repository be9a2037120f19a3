//! What a handler needs, in one line: `use crate::api::prelude::*;`.
//!
//! ```ignore
//! use crate::api::prelude::*;
//!
//! pub async fn item_get(Path(id): Path<String>) -> Result<Response, AppError> {
//!     if id.len() > 100 {
//!         return Err(AppError::new(ErrorCode::InvalidPathParameter));
//!     }
//!     Ok(json(StatusCode::OK, &serde_json::json!({ "id": id })))
//! }
//! ```

pub use axum::extract::{Extension, State};
pub use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
pub use axum::response::{IntoResponse, Response};
pub use axum::routing::{delete, get, head, options, patch, post, put};
pub use axum::Router;

pub use super::body::{read_limited, stream_limited, BodyLimits};
pub use super::config::Config;
pub use super::error::{AppError, ErrorCode};
pub use super::extract::{Json, Path, Query};
pub use super::json::json;
pub use super::state::AppState;
pub use crate::app::{AppSettings, Resources};
