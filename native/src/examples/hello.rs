//! `GET /hello?name=` and `GET /hello/{name}`: a greeting, the smallest routes to copy.

use serde_json::json;

use crate::api::prelude::*;

/// Longest accepted `name`, in Unicode code points.
const MAX_NAME_CHARS: usize = 100;

/// Greets `name` (first occurrence in the query), or `World` when there is none.
pub async fn hello_get(uri: Uri) -> Result<Response, AppError> {
    let name = query_param(uri.query().unwrap_or(""), "name");
    greet(name.as_deref().unwrap_or("World"))
}

/// Greets the `{name}` of the path, with the same rule.
pub async fn hello_name_get(Path(name): Path<String>) -> Result<Response, AppError> {
    greet(&name)
}

/// `{"message":"Hello, <name>!"}`, or 400 `invalid_name` unless 1 to 100 characters.
fn greet(name: &str) -> Result<Response, AppError> {
    if !(1..=MAX_NAME_CHARS).contains(&name.chars().count()) {
        return Err(AppError::new(ErrorCode::InvalidName));
    }
    Ok(json(
        StatusCode::OK,
        &json!({ "message": format!("Hello, {name}!") }),
    ))
}

/// The first value of `key` in an `application/x-www-form-urlencoded` query, decoded the way
/// WHATWG `URLSearchParams` does (so the fallback reads exactly the same value).
pub fn query_param(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_url_search_params() {
        assert_eq!(query_param("name=a+b%21", "name").as_deref(), Some("a b!"));
        assert_eq!(query_param("name=1&name=2", "name").as_deref(), Some("1"));
        assert_eq!(query_param("name", "name").as_deref(), Some(""));
        assert_eq!(query_param("x=1", "name"), None);
        assert_eq!(query_param("name=%zz", "name").as_deref(), Some("%zz"));
    }
}
