//! `POST /echo`: parses a JSON body and sends the same value back.

use serde_json::Value;

use crate::api::prelude::*;

/// Echoes a JSON body; [`Json`] answers 415 unless declared JSON, 413 over `bodyLimit`, 400
/// unless valid JSON.
pub async fn echo_post(Json(value): Json<Value>) -> Response {
    json(StatusCode::OK, &value)
}
