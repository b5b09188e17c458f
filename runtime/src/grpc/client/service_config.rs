//! [`ServiceConfig`]: the JSON form of grpc's `service_config.proto`, read
//! and validated — load balancing, per-method timeouts, limits, retries
//! and hedging (gRFC A6), retry throttling and health checking.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::grpc::status::{Code, Status};

/// A channel's service config, parsed from the JSON that grpc-go,
/// grpc-java and grpcio read (`grpc.service_config`).
///
/// ```
/// use protocall::client::ServiceConfig;
/// let config = ServiceConfig::from_json(r#"{
///     "loadBalancingConfig": [{"round_robin": {}}],
///     "methodConfig": [{
///         "name": [{"service": "grpc.testing.TestService"}],
///         "timeout": "2.5s",
///         "retryPolicy": {
///             "maxAttempts": 4,
///             "initialBackoff": "0.1s",
///             "maxBackoff": "1s",
///             "backoffMultiplier": 2,
///             "retryableStatusCodes": ["UNAVAILABLE"]
///         }
///     }],
///     "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
/// }"#)?;
/// # let _ = config;
/// let error = ServiceConfig::from_json(r#"{"methodConfig": [{"name": [{}], "timeout": "soon"}]}"#).unwrap_err();
/// assert_eq!(error.message(), r#"service config: .methodConfig[0].timeout: "soon" is not a duration like "1.5s""#);
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceConfig {
    /// Policy names of `loadBalancingConfig` (or the deprecated
    /// `loadBalancingPolicy`), in the order given: the first one the
    /// channel knows is used.
    pub(crate) load_balancing: Vec<String>,
    pub(crate) methods: Vec<MethodConfig>,
    pub(crate) retry_throttling: Option<RetryThrottling>,
    /// `healthCheckConfig.serviceName`.
    pub(crate) health_check_service: Option<String>,
}

/// One `methodConfig` entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct MethodConfig {
    /// `(service, method)`; an empty service matches every method, no
    /// method every method of the service.
    pub(crate) names: Vec<(String, Option<String>)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) wait_for_ready: Option<bool>,
    pub(crate) max_request_bytes: Option<usize>,
    pub(crate) max_response_bytes: Option<usize>,
    pub(crate) policy: Option<CallPolicy>,
}

/// How a call is repeated: retried after failures, or hedged.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CallPolicy {
    Retry(RetryPolicy),
    Hedging(HedgingPolicy),
}

/// `retryPolicy` (gRFC A6).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, the first one included (2 to 5).
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) multiplier: f64,
    pub(crate) retryable: Vec<Code>,
}

/// `hedgingPolicy` (gRFC A6).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HedgingPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) delay: Duration,
    pub(crate) non_fatal: Vec<Code>,
}

/// `retryThrottling` (gRFC A6).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RetryThrottling {
    pub(crate) max_tokens: f64,
    pub(crate) token_ratio: f64,
}

/// gRFC A6: "values greater than 5 are treated as 5".
const MAX_ATTEMPTS_CAP: u32 = 5;

impl ServiceConfig {
    /// Parses and validates a service config; the error names the JSON
    /// path of what is wrong.
    pub fn from_json(json: &str) -> Result<ServiceConfig, Status> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Status::invalid_argument(format!("service config: invalid JSON: {e}")))?;
        parse(&value).map_err(|(path, why)| {
            let path = if path.is_empty() {
                "top level".into()
            } else {
                path
            };
            Status::invalid_argument(format!("service config: {path}: {why}"))
        })
    }

    /// The method config for `path` (`/package.Service/Method`): the entry
    /// naming the method, else the one naming its service, else the default
    /// (empty service name).
    pub(crate) fn method(&self, path: &str) -> Option<&MethodConfig> {
        if self.methods.is_empty() {
            // Most channels: no per-method config to look through.
            return None;
        }
        let (service, method) = path.trim_start_matches('/').split_once('/')?;
        let named = |wanted: Option<&str>| {
            self.methods.iter().find(|m| {
                m.names.iter().any(|(s, m)| match wanted {
                    Some(_) => s == service && m.as_deref() == wanted,
                    None => s == service && m.is_none(),
                })
            })
        };
        let default = || {
            self.methods
                .iter()
                .find(|m| m.names.iter().any(|(s, _)| s.is_empty()))
        };
        named(Some(method)).or_else(|| named(None)).or_else(default)
    }
}

/// The service config a DNS TXT record (`_grpc_config.<host>`) gives this
/// client, as grpc's `doc/service_config.md` defines it: `grpc_config=`
/// then a JSON list of choices, the first whose `clientLanguage`,
/// `percentage` and `clientHostname` admit this client wins. `None` when
/// no choice does (or the record is not a `grpc_config`).
#[cfg_attr(not(feature = "dns"), allow(dead_code))]
pub(crate) fn from_txt(record: &str, hostname: &str) -> Result<Option<ServiceConfig>, Status> {
    let Some(json) = record.strip_prefix("grpc_config=") else {
        return Ok(None);
    };
    let bad = |why: String| Status::invalid_argument(format!("DNS service config: {why}"));
    let choices: Value =
        serde_json::from_str(json).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let choices = choices
        .as_array()
        .ok_or_else(|| bad("expected a list of choices".into()))?;
    for (i, choice) in choices.iter().enumerate() {
        let choice = choice
            .as_object()
            .ok_or_else(|| bad(format!("[{i}]: expected an object")))?;
        let listed = |key: &str, wanted: &str| match choice.get(key) {
            None => Ok(true),
            Some(Value::Array(names)) => Ok(names.iter().any(|n| n.as_str() == Some(wanted))),
            Some(_) => Err(bad(format!("[{i}].{key}: expected a list of strings"))),
        };
        if !listed("clientLanguage", "rust")? || !listed("clientHostname", hostname)? {
            continue;
        }
        if let Some(percentage) = choice.get("percentage") {
            let percentage = percentage
                .as_u64()
                .filter(|p| *p <= 100)
                .ok_or_else(|| bad(format!("[{i}].percentage: expected 0 to 100")))?;
            if fastrand::u64(0..100) >= percentage {
                continue;
            }
        }
        let config = choice
            .get("serviceConfig")
            .ok_or_else(|| bad(format!("[{i}]: no serviceConfig")))?;
        return parse(config)
            .map(Some)
            .map_err(|(path, why)| bad(format!("[{i}].serviceConfig{path}: {why}")));
    }
    Ok(None)
}

/// A validation failure: the JSON path and what is wrong there.
type Invalid = (String, String);

fn parse(value: &Value) -> Result<ServiceConfig, Invalid> {
    let top = object(value, "")?;
    let mut config = ServiceConfig::default();
    if let Some(list) = top.get("loadBalancingConfig") {
        let list = array(list, ".loadBalancingConfig")?;
        for (i, entry) in list.iter().enumerate() {
            let path = format!(".loadBalancingConfig[{i}]");
            let entry = object(entry, &path)?;
            if entry.len() != 1 {
                return Err((path, "must name exactly one policy".into()));
            }
            let (name, settings) = entry.iter().next().expect("one entry");
            object(settings, &format!("{path}.{name}"))?;
            config.load_balancing.push(name.clone());
        }
    } else if let Some(policy) = top.get("loadBalancingPolicy") {
        let name = string(policy, ".loadBalancingPolicy")?;
        config.load_balancing.push(name.to_ascii_lowercase());
    }
    if let Some(list) = top.get("methodConfig") {
        let mut seen = Vec::new();
        for (i, entry) in array(list, ".methodConfig")?.iter().enumerate() {
            let method = method_config(entry, &format!(".methodConfig[{i}]"))?;
            for name in &method.names {
                if seen.contains(name) {
                    let shown = format!("{}/{}", name.0, name.1.as_deref().unwrap_or("*"));
                    return Err((
                        format!(".methodConfig[{i}].name"),
                        format!("{shown} is named twice"),
                    ));
                }
                seen.push(name.clone());
            }
            config.methods.push(method);
        }
    }
    if let Some(throttling) = top.get("retryThrottling") {
        config.retry_throttling = Some(retry_throttling(throttling)?);
    }
    if let Some(health) = top.get("healthCheckConfig") {
        let health = object(health, ".healthCheckConfig")?;
        if let Some(name) = health.get("serviceName") {
            let name = string(name, ".healthCheckConfig.serviceName")?;
            config.health_check_service = Some(name.to_owned());
        }
    }
    Ok(config)
}

fn method_config(value: &Value, path: &str) -> Result<MethodConfig, Invalid> {
    let entry = object(value, path)?;
    let mut method = MethodConfig::default();
    let names = entry
        .get("name")
        .ok_or_else(|| (path.to_owned(), "needs a \"name\" list".to_owned()))?;
    for (i, name) in array(names, &format!("{path}.name"))?.iter().enumerate() {
        let at = format!("{path}.name[{i}]");
        let name = object(name, &at)?;
        let service = match name.get("service") {
            Some(s) => string(s, &format!("{at}.service"))?.to_owned(),
            None => String::new(),
        };
        let rpc = match name.get("method") {
            Some(m) => Some(string(m, &format!("{at}.method"))?.to_owned()),
            None => None,
        }
        .filter(|m| !m.is_empty());
        if service.is_empty() && rpc.is_some() {
            return Err((at, "a method needs its service".into()));
        }
        method.names.push((service, rpc));
    }
    if let Some(timeout) = entry.get("timeout") {
        method.timeout = Some(duration(timeout, &format!("{path}.timeout"))?);
    }
    if let Some(wait) = entry.get("waitForReady") {
        method.wait_for_ready = Some(wait.as_bool().ok_or_else(|| {
            (
                format!("{path}.waitForReady"),
                "must be true or false".into(),
            )
        })?);
    }
    if let Some(limit) = entry.get("maxRequestMessageBytes") {
        method.max_request_bytes = Some(count(limit, &format!("{path}.maxRequestMessageBytes"))?);
    }
    if let Some(limit) = entry.get("maxResponseMessageBytes") {
        method.max_response_bytes = Some(count(limit, &format!("{path}.maxResponseMessageBytes"))?);
    }
    match (entry.get("retryPolicy"), entry.get("hedgingPolicy")) {
        (Some(_), Some(_)) => {
            return Err((
                path.to_owned(),
                "retryPolicy and hedgingPolicy exclude each other".into(),
            ));
        }
        (Some(retry), None) => {
            method.policy = Some(CallPolicy::Retry(retry_policy(
                retry,
                &format!("{path}.retryPolicy"),
            )?));
        }
        (None, Some(hedging)) => {
            let hedging = hedging_policy(hedging, &format!("{path}.hedgingPolicy"))?;
            method.policy = Some(CallPolicy::Hedging(hedging));
        }
        (None, None) => {}
    }
    Ok(method)
}

fn retry_policy(value: &Value, path: &str) -> Result<RetryPolicy, Invalid> {
    let policy = object(value, path)?;
    let field = |name: &str| {
        policy
            .get(name)
            .ok_or_else(|| (path.to_owned(), format!("needs {name:?}")))
            .map(|v| (v, format!("{path}.{name}")))
    };
    let (v, at) = field("maxAttempts")?;
    let max_attempts = max_attempts(v, &at)?;
    let (v, at) = field("initialBackoff")?;
    let initial_backoff = positive(duration(v, &at)?, &at)?;
    let (v, at) = field("maxBackoff")?;
    let max_backoff = positive(duration(v, &at)?, &at)?;
    let (v, at) = field("backoffMultiplier")?;
    let multiplier = v
        .as_f64()
        .filter(|m| *m > 0.0 && m.is_finite())
        .ok_or_else(|| (at, "must be a number above 0".to_owned()))?;
    let (v, at) = field("retryableStatusCodes")?;
    let retryable = codes(v, &at)?;
    if retryable.is_empty() {
        return Err((at, "must name at least one code".into()));
    }
    Ok(RetryPolicy {
        max_attempts,
        initial_backoff,
        max_backoff,
        multiplier,
        retryable,
    })
}

fn hedging_policy(value: &Value, path: &str) -> Result<HedgingPolicy, Invalid> {
    let policy = object(value, path)?;
    let max_attempts = match policy.get("maxAttempts") {
        Some(v) => max_attempts(v, &format!("{path}.maxAttempts"))?,
        None => return Err((path.to_owned(), "needs \"maxAttempts\"".into())),
    };
    let delay = match policy.get("hedgingDelay") {
        Some(v) => duration(v, &format!("{path}.hedgingDelay"))?,
        None => Duration::ZERO,
    };
    let non_fatal = match policy.get("nonFatalStatusCodes") {
        Some(v) => codes(v, &format!("{path}.nonFatalStatusCodes"))?,
        None => Vec::new(),
    };
    Ok(HedgingPolicy {
        max_attempts,
        delay,
        non_fatal,
    })
}

fn retry_throttling(value: &Value) -> Result<RetryThrottling, Invalid> {
    let path = ".retryThrottling";
    let throttling = object(value, path)?;
    let max_tokens = throttling
        .get("maxTokens")
        .and_then(Value::as_f64)
        .filter(|t| *t > 0.0 && *t <= 1000.0)
        .ok_or_else(|| {
            (
                format!("{path}.maxTokens"),
                "must be a number in (0, 1000]".to_owned(),
            )
        })?;
    let token_ratio = throttling
        .get("tokenRatio")
        .and_then(Value::as_f64)
        .filter(|r| *r > 0.0 && r.is_finite())
        .ok_or_else(|| {
            (
                format!("{path}.tokenRatio"),
                "must be a number above 0".to_owned(),
            )
        })?;
    // A6: the ratio keeps three decimal places.
    let token_ratio = (token_ratio * 1000.0).trunc() / 1000.0;
    Ok(RetryThrottling {
        max_tokens,
        token_ratio,
    })
}

fn max_attempts(value: &Value, path: &str) -> Result<u32, Invalid> {
    let attempts = value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })
        .ok_or_else(|| (path.to_owned(), "must be a whole number".to_owned()))?;
    if attempts < 2 {
        return Err((
            path.to_owned(),
            format!("must be at least 2, not {attempts}"),
        ));
    }
    Ok(attempts.min(u64::from(MAX_ATTEMPTS_CAP)) as u32)
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Invalid> {
    value.as_object().ok_or_else(|| {
        (
            path.to_owned(),
            format!("expected an object, found {}", kind(value)),
        )
    })
}

fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, Invalid> {
    value.as_array().ok_or_else(|| {
        (
            path.to_owned(),
            format!("expected a list, found {}", kind(value)),
        )
    })
}

fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str, Invalid> {
    value.as_str().ok_or_else(|| {
        (
            path.to_owned(),
            format!("expected a string, found {}", kind(value)),
        )
    })
}

/// A byte count: a number, or a decimal string (int64/uint64 in proto JSON).
fn count(value: &Value, path: &str) -> Result<usize, Invalid> {
    let n = match value {
        Value::String(s) => s.parse::<u64>().ok(),
        _ => value.as_u64(),
    };
    n.map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .ok_or_else(|| {
            (
                path.to_owned(),
                format!("expected a byte count, found {value}"),
            )
        })
}

/// A `google.protobuf.Duration` in JSON: seconds with up to nine
/// fractional digits and an `s` (`"1.5s"`, `"0.000340s"`).
fn duration(value: &Value, path: &str) -> Result<Duration, Invalid> {
    let bad = || {
        (
            path.to_owned(),
            format!("{value} is not a duration like \"1.5s\""),
        )
    };
    let text = value.as_str().ok_or_else(bad)?;
    let number = text.strip_suffix('s').ok_or_else(bad)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(bad());
    }
    let seconds: u64 = whole.parse().map_err(|_| bad())?;
    // google.protobuf.Duration's range: ±10,000 years.
    if seconds > 315_576_000_000 {
        return Err((
            path.to_owned(),
            format!("{value} is longer than 10,000 years"),
        ));
    }
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().map_err(|_| bad())?
    };
    Ok(Duration::new(seconds, nanos))
}

fn positive(duration: Duration, path: &str) -> Result<Duration, Invalid> {
    if duration.is_zero() {
        return Err((path.to_owned(), "must be above 0s".into()));
    }
    Ok(duration)
}

/// Status codes by name (`"UNAVAILABLE"`) or number (`14`).
fn codes(value: &Value, path: &str) -> Result<Vec<Code>, Invalid> {
    let mut codes = Vec::new();
    for (i, item) in array(value, path)?.iter().enumerate() {
        let code = match item {
            Value::String(name) => (0..=16)
                .map(Code::from_i32)
                .find(|c| c.as_str().eq_ignore_ascii_case(name)),
            _ => item
                .as_u64()
                .filter(|n| *n <= 16)
                .map(|n| Code::from_i32(n as i32)),
        };
        let code = code.filter(|c| *c != Code::Ok).ok_or_else(|| {
            (
                format!("{path}[{i}]"),
                format!("{item} is not a status code"),
            )
        })?;
        codes.push(code);
    }
    Ok(codes)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        ServiceConfig::from_json(json)
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn a_full_config_reads_as_written() {
        let config = ServiceConfig::from_json(
            r#"{
            "loadBalancingConfig": [{"weighted_target_experimental": {}}, {"round_robin": {}}],
            "methodConfig": [
                {"name": [{"service": "a.S", "method": "M"}], "timeout": "0.250s", "waitForReady": true,
                 "maxRequestMessageBytes": 1024, "maxResponseMessageBytes": "2048",
                 "hedgingPolicy": {"maxAttempts": 9, "hedgingDelay": "0.01s", "nonFatalStatusCodes": ["UNAVAILABLE", 10]}},
                {"name": [{"service": "a.S"}], "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s",
                 "maxBackoff": "1s", "backoffMultiplier": 1.5, "retryableStatusCodes": ["unavailable"]}},
                {"name": [{}], "timeout": "5s"}
            ],
            "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.12345},
            "healthCheckConfig": {"serviceName": "a.S"}
        }"#,
        )
        .unwrap();
        assert_eq!(
            config.load_balancing,
            ["weighted_target_experimental", "round_robin"]
        );
        let m = config.method("/a.S/M").unwrap();
        assert_eq!(m.timeout, Some(Duration::from_millis(250)));
        assert_eq!(
            (m.wait_for_ready, m.max_request_bytes, m.max_response_bytes),
            (Some(true), Some(1024), Some(2048))
        );
        let Some(CallPolicy::Hedging(h)) = &m.policy else {
            panic!("{m:?}")
        };
        assert_eq!((h.max_attempts, h.delay), (5, Duration::from_millis(10)));
        assert_eq!(h.non_fatal, [Code::Unavailable, Code::Aborted]);
        let other = config.method("/a.S/Other").unwrap();
        let Some(CallPolicy::Retry(r)) = &other.policy else {
            panic!("{other:?}")
        };
        assert_eq!(
            (r.max_attempts, r.multiplier, r.retryable.as_slice()),
            (3, 1.5, &[Code::Unavailable][..])
        );
        assert_eq!(
            config.method("/b.T/X").unwrap().timeout,
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            config.retry_throttling,
            Some(RetryThrottling {
                max_tokens: 10.0,
                token_ratio: 0.123
            })
        );
        assert_eq!(config.health_check_service.as_deref(), Some("a.S"));
        let legacy = ServiceConfig::from_json(r#"{"loadBalancingPolicy": "ROUND_ROBIN"}"#).unwrap();
        assert_eq!(legacy.load_balancing, ["round_robin"]);
        assert!(
            ServiceConfig::from_json("{}")
                .unwrap()
                .method("/a/b")
                .is_none()
        );
    }

    #[test]
    fn dns_txt_choices_pick_the_first_that_admits_this_client() {
        let record = r#"grpc_config=[
            {"clientLanguage": ["go", "java"], "serviceConfig": {"loadBalancingPolicy": "pick_first"}},
            {"clientHostname": ["other-host"], "serviceConfig": {"loadBalancingPolicy": "pick_first"}},
            {"percentage": 0, "serviceConfig": {"loadBalancingPolicy": "pick_first"}},
            {"clientLanguage": ["rust"], "percentage": 100, "serviceConfig": {"loadBalancingConfig": [{"round_robin": {}}]}}
        ]"#;
        let config = from_txt(record, "this-host").unwrap().unwrap();
        assert_eq!(config.load_balancing, ["round_robin"]);
        assert!(from_txt("v=spf1 -all", "h").unwrap().is_none());
        assert!(
            from_txt(
                r#"grpc_config=[{"clientLanguage": ["go"], "serviceConfig": {}}]"#,
                "h"
            )
            .unwrap()
            .is_none()
        );
        let error = from_txt(
            r#"grpc_config=[{"serviceConfig": {"methodConfig": 3}}]"#,
            "h",
        )
        .unwrap_err();
        assert_eq!(
            error.message(),
            "DNS service config: [0].serviceConfig.methodConfig: expected a list, found a number"
        );
        assert!(from_txt("grpc_config={", "h").is_err());
    }

    #[test]
    fn errors_name_the_path() {
        let cases = [
            (
                "[]",
                "service config: top level: expected an object, found a list",
            ),
            ("{", "service config: invalid JSON"),
            (
                r#"{"loadBalancingConfig": [{"a": {}, "b": {}}]}"#,
                ".loadBalancingConfig[0]: must name exactly one policy",
            ),
            (
                r#"{"methodConfig": [{"timeout": "1s"}]}"#,
                r#".methodConfig[0]: needs a "name" list"#,
            ),
            (
                r#"{"methodConfig": [{"name": [{"method": "M"}]}]}"#,
                ".methodConfig[0].name[0]: a method needs its service",
            ),
            (
                r#"{"methodConfig": [{"name": [{}]}, {"name": [{"service": ""}]}]}"#,
                ".methodConfig[1].name: /* is named twice",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "timeout": "1.5"}]}"#,
                r#".methodConfig[0].timeout: "1.5" is not a duration"#,
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "timeout": "1.0000000001s"}]}"#,
                "is not a duration",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "timeout": "99999999999999s"}]}"#,
                "longer than 10,000 years",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "waitForReady": 1}]}"#,
                ".methodConfig[0].waitForReady: must be true or false",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "maxRequestMessageBytes": -1}]}"#,
                "maxRequestMessageBytes: expected a byte count",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {}, "hedgingPolicy": {}}]}"#,
                "exclude each other",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}"#,
                ".retryPolicy.maxAttempts: must be at least 2, not 1",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
                ".retryPolicy.initialBackoff: must be above 0s",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 0, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
                ".retryPolicy.backoffMultiplier: must be a number above 0",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": []}}]}"#,
                "retryableStatusCodes: must name at least one code",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["SOMETIMES"]}}]}"#,
                r#".retryableStatusCodes[0]: "SOMETIMES" is not a status code"#,
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2}}]}"#,
                r#".retryPolicy: needs "initialBackoff""#,
            ),
            (
                r#"{"retryThrottling": {"maxTokens": 2000, "tokenRatio": 1}}"#,
                ".retryThrottling.maxTokens: must be a number in (0, 1000]",
            ),
            (
                r#"{"retryThrottling": {"maxTokens": 10}}"#,
                ".retryThrottling.tokenRatio: must be a number above 0",
            ),
        ];
        for (json, needle) in cases {
            let message = error(json);
            assert!(
                message.contains(needle),
                "{json}\n  gave {message}\n  wanted {needle}"
            );
        }
    }
}
