//! The server's settings: one serde struct, given by the TypeScript side as JSON (it alone reads
//! the environment, `src/config.ts`), with the documented defaults. Tests build it as
//! `Config { test_routes: true, ..Config::default() }`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::body::BodyLimits;
use crate::app::AppSettings;
use crate::serve::ServeOptions;

/// Every setting of the native server. The JSON is camelCase (`basePath`, `bodyLimit`, …); a
/// field left out takes its default, an unknown one is refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// Tokio worker threads (`HANDOFF_THREADS`). @default 2
    pub threads: usize,
    /// Tokio's blocking pool, for `spawn_blocking`, file I/O and blocking drivers
    /// (`HANDOFF_BLOCKING_THREADS`). @default 1
    pub blocking_threads: usize,
    /// Prefix of every route, without a trailing slash; empty for none. @default ""
    pub base_path: String,
    /// Version reported by `GET /health`. @default "0.0.0"
    pub version: String,
    /// Mount the test-only routes (`/__test/...`). @default false
    pub test_routes: bool,
    /// Milliseconds a client may take to send the request head. @default 10000
    pub header_timeout_ms: u64,
    /// Milliseconds a request body may take to arrive, once a handler reads it. @default 60000
    pub request_timeout_ms: u64,
    /// Connections served at once; more are closed at once. @default 1024
    pub max_connections: usize,
    /// Largest JSON request body [`super::extract::Json`] reads, in bytes (and the test upload
    /// route's limit). @default 1048576
    pub body_limit: u64,
    /// Which peers may name the client in the request log with `X-Forwarded-For` and
    /// `X-Forwarded-Proto` (`HANDOFF_TRUST_PROXY`). @default none
    pub trust_proxy: TrustProxy,
    /// What the socket speaks: `http` or `scgi` (`HANDOFF_PROTOCOL`). @default "http"
    pub protocol: Protocol,
    /// Your settings (`src/app/mod.rs`).
    pub app: AppSettings,
}

/// `HANDOFF_PROTOCOL`: HTTP/1.1, or SCGI from a front server (nginx, Apache).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.1 (the default).
    #[default]
    Http,
    /// SCGI (`serve::scgi`).
    Scgi,
}

/// `HANDOFF_TRUST_PROXY` as `src/config.ts` reads it: every peer (`all`), a peer on a Unix
/// socket (`unix`), or those at `addresses`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TrustProxy {
    /// Trust every peer (`on`).
    pub all: bool,
    /// Trust a peer on a Unix socket (`unix` in the list).
    pub unix: bool,
    /// Trust these peers.
    pub addresses: Vec<std::net::IpAddr>,
}

impl TrustProxy {
    /// Whether a proxy at `address` is trusted (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn trusts(&self, address: std::net::IpAddr) -> bool {
        self.all || self.addresses.contains(&address.to_canonical())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threads: 2,
            blocking_threads: 1,
            base_path: String::new(),
            version: "0.0.0".to_owned(),
            test_routes: false,
            header_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            max_connections: 1024,
            body_limit: 1024 * 1024,
            trust_proxy: TrustProxy::default(),
            protocol: Protocol::Http,
            app: AppSettings::default(),
        }
    }
}

impl Config {
    /// Reads the JSON the TypeScript side sends; an error names the field at fault.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("config is not JSON: {e}"))?;
        if !value.is_object() {
            return Err("config must be a JSON object".to_owned());
        }
        let config: Self = serde_json::from_value(value.clone())
            .map_err(|e| format!("config {}: {e}", locate::<Self>(&value, "")))?;
        config.check()?;
        Ok(config)
    }

    /// Refuses values the server cannot run with.
    pub fn check(&self) -> Result<(), String> {
        let base = &self.base_path;
        if !base.is_empty()
            && (!base.starts_with('/')
                || base.ends_with('/')
                || base.contains(['{', '}', '?', '#', '*']))
        {
            return Err(format!(
                "config field basePath: {base:?} must be empty or start with / and not end with /"
            ));
        }
        if !(1..=1024).contains(&self.threads) {
            return Err(format!(
                "config field threads: {} is not from 1 to 1024",
                self.threads
            ));
        }
        if !(1..=1024).contains(&self.blocking_threads) {
            return Err(format!(
                "config field blockingThreads: {} is not from 1 to 1024",
                self.blocking_threads
            ));
        }
        Ok(())
    }

    /// How long a request body may take to arrive.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The limits for reading a body of at most `bytes`, within the request timeout.
    pub fn limits(&self, bytes: u64) -> BodyLimits {
        BodyLimits {
            bytes,
            time: self.request_timeout(),
        }
    }

    /// How connections are served (not behind Passenger; `listen` says when it is).
    pub fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            behind_passenger: false,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            max_connections: self.max_connections,
            protocol: self.protocol,
        }
    }
}

/// Which field of `value` makes it fail to deserialize as `T`: each field is tried alone (the
/// others take their defaults), and `app` one level down. serde's own message says what is
/// wrong but not where.
fn locate<T: serde::de::DeserializeOwned>(value: &Value, prefix: &str) -> String {
    let Value::Object(fields) = value else {
        return format!("field {}", prefix.trim_end_matches('.'));
    };
    for (key, field) in fields {
        let alone = Value::Object([(key.clone(), field.clone())].into_iter().collect());
        if serde_json::from_value::<T>(alone).is_err() {
            let path = format!("{prefix}{key}");
            if prefix.is_empty() && key == "app" {
                return locate::<AppSettings>(field, "app.");
            }
            return format!("field {path}");
        }
    }
    "field".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::from_json("{}").expect("empty config");
        assert_eq!(config.threads, 2);
        assert_eq!(config.blocking_threads, 1);
        assert_eq!(config.base_path, "");
        assert_eq!(config.version, "0.0.0");
        assert!(!config.test_routes);
        assert_eq!(config.header_timeout_ms, 10_000);
        assert_eq!(config.request_timeout_ms, 60_000);
        assert_eq!(config.max_connections, 1024);
        assert_eq!(config.body_limit, 1_048_576);
        assert_eq!(config.protocol, Protocol::Http);
    }

    #[test]
    fn reads_the_protocol() {
        let config = Config::from_json(r#"{"protocol":"scgi"}"#).expect("scgi");
        assert_eq!(config.serve_options().protocol, Protocol::Scgi);
        let config = Config::from_json(r#"{"protocol":"http"}"#).expect("http");
        assert_eq!(config.protocol, Protocol::Http);
        let message = Config::from_json(r#"{"protocol":"fcgi"}"#).expect_err("fcgi");
        assert!(message.contains("field protocol"), "{message}");
    }

    #[test]
    fn reads_camel_case_fields() {
        let config = Config::from_json(
            r#"{"threads":3,"blockingThreads":4,"basePath":"/api","version":"1.2.3",
                "testRoutes":true,"headerTimeoutMs":5,"requestTimeoutMs":6,
                "maxConnections":7,"bodyLimit":8,"app":{}}"#,
        )
        .expect("config");
        assert_eq!(
            (
                config.threads,
                config.blocking_threads,
                config.base_path.as_str()
            ),
            (3, 4, "/api")
        );
        assert_eq!(config.version, "1.2.3");
        assert!(config.test_routes);
        assert_eq!(config.request_timeout(), Duration::from_millis(6));
        assert_eq!(
            config.serve_options().header_timeout,
            Duration::from_millis(5)
        );
        assert_eq!(config.serve_options().max_connections, 7);
        assert_eq!(config.body_limit, 8);
    }

    #[test]
    fn a_bad_config_names_the_field() {
        let error = |text: &str| Config::from_json(text).expect_err(text);
        let message = error(r#"{"threads":2,"bodyLimit":"big"}"#);
        assert!(
            message.starts_with("config field bodyLimit: invalid type"),
            "{message}"
        );
        let message = error(r#"{"bodyLimt":1}"#);
        assert!(
            message.contains("field bodyLimt: unknown field `bodyLimt`"),
            "{message}"
        );
        let message = error(r#"{"app":{"nope":1}}"#);
        assert!(
            message.contains("field app.nope: unknown field `nope`"),
            "{message}"
        );
        let message = error(r#"{"blockingThreads":-1}"#);
        assert!(message.contains("field blockingThreads"), "{message}");
        assert!(error("[]").contains("must be a JSON object"));
        assert!(error("{").starts_with("config is not JSON"));
        assert!(error(r#"{"basePath":"/api/"}"#).contains("basePath"));
        assert!(error(r#"{"basePath":"api"}"#).contains("basePath"));
        assert!(error(r#"{"blockingThreads":0}"#).contains("blockingThreads"));
    }
}
