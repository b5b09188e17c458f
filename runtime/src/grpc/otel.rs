//! The bridge to OpenTelemetry (feature `opentelemetry`): A66's instruments
//! on a `MeterProvider` the application gives (gRFC A66: never the global
//! one), and call spans joined to OpenTelemetry traces through
//! `tracing-opentelemetry`.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::metrics::{LATENCY_BOUNDS, SIZE_BOUNDS};
use super::status::Code;
use super::trace::TraceContext;

/// A66's nine instruments, made once on the application's meter.
pub(crate) struct Instruments {
    attempt_started: Counter<u64>,
    attempt_duration: Histogram<f64>,
    attempt_sent: Histogram<u64>,
    attempt_rcvd: Histogram<u64>,
    call_duration: Histogram<f64>,
    server_started: Counter<u64>,
    server_duration: Histogram<f64>,
    server_sent: Histogram<u64>,
    server_rcvd: Histogram<u64>,
}

impl Instruments {
    pub(crate) fn new(provider: &dyn MeterProvider) -> Instruments {
        let scope = InstrumentationScope::builder("protocall")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let meter = provider.meter_with_scope(scope);
        let latency = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(LATENCY_BOUNDS.to_vec())
                .build()
        };
        let size = |meter: &Meter, name: &'static str, description: &'static str| {
            meter
                .u64_histogram(name)
                .with_unit("By")
                .with_description(description)
                .with_boundaries(SIZE_BOUNDS.to_vec())
                .build()
        };
        Instruments {
            attempt_started: meter
                .u64_counter("grpc.client.attempt.started")
                .with_unit("{attempt}")
                .with_description("The total number of RPC attempts started, including those that have not completed.")
                .build(),
            attempt_duration: latency(
                "grpc.client.attempt.duration",
                "End-to-end time taken to complete an RPC attempt including the time it takes to pick a subchannel.",
            ),
            attempt_sent: size(
                &meter,
                "grpc.client.attempt.sent_total_compressed_message_size",
                "Compressed message bytes sent per RPC attempt.",
            ),
            attempt_rcvd: size(
                &meter,
                "grpc.client.attempt.rcvd_total_compressed_message_size",
                "Compressed message bytes received per RPC attempt.",
            ),
            call_duration: latency(
                "grpc.client.call.duration",
                "End-to-end time the gRPC library takes to complete an RPC from the application's perspective.",
            ),
            server_started: meter
                .u64_counter("grpc.server.call.started")
                .with_unit("{call}")
                .with_description("The total number of RPCs started, including those that have not completed.")
                .build(),
            server_duration: latency(
                "grpc.server.call.duration",
                "End-to-end time an RPC takes from the server transport's perspective.",
            ),
            server_sent: size(
                &meter,
                "grpc.server.call.sent_total_compressed_message_size",
                "Compressed message bytes sent per server RPC.",
            ),
            server_rcvd: size(
                &meter,
                "grpc.server.call.rcvd_total_compressed_message_size",
                "Compressed message bytes received per server RPC.",
            ),
        }
    }
}

/// One method's instruments with its attributes made once.
pub(crate) struct MethodInstruments {
    instruments: Arc<Instruments>,
    /// `grpc.method` (and `grpc.target` for clients).
    attributes: Vec<KeyValue>,
}

impl MethodInstruments {
    pub(crate) fn server(instruments: Arc<Instruments>, method: &str) -> MethodInstruments {
        MethodInstruments {
            instruments,
            attributes: vec![KeyValue::new(
                "grpc.method",
                StringValue::from(method.to_owned()),
            )],
        }
    }

    pub(crate) fn client(
        instruments: Arc<Instruments>,
        target: &str,
        method: &str,
    ) -> MethodInstruments {
        MethodInstruments {
            instruments,
            attributes: vec![
                KeyValue::new("grpc.method", StringValue::from(method.to_owned())),
                KeyValue::new("grpc.target", StringValue::from(target.to_owned())),
            ],
        }
    }

    fn with_status(&self, code: Code) -> Vec<KeyValue> {
        let mut attributes = self.attributes.clone();
        attributes.push(KeyValue::new("grpc.status", code.as_str()));
        attributes
    }

    pub(crate) fn server_started(&self) {
        self.instruments.server_started.add(1, &self.attributes);
    }

    pub(crate) fn server_finished(&self, code: Code, duration: Duration, sent: u64, rcvd: u64) {
        let attributes = self.with_status(code);
        let i = &self.instruments;
        i.server_duration
            .record(duration.as_secs_f64(), &attributes);
        i.server_sent.record(sent, &attributes);
        i.server_rcvd.record(rcvd, &attributes);
    }

    pub(crate) fn attempt_started(&self) {
        self.instruments.attempt_started.add(1, &self.attributes);
    }

    pub(crate) fn attempt_finished(&self, code: Code, duration: Duration, sent: u64, rcvd: u64) {
        let attributes = self.with_status(code);
        let i = &self.instruments;
        i.attempt_duration
            .record(duration.as_secs_f64(), &attributes);
        i.attempt_sent.record(sent, &attributes);
        i.attempt_rcvd.record(rcvd, &attributes);
    }

    pub(crate) fn call_finished(&self, code: Code, duration: Duration) {
        let attributes = self.with_status(code);
        self.instruments
            .call_duration
            .record(duration.as_secs_f64(), &attributes);
    }
}

/// Joins `span` to OpenTelemetry: under `parent` (a remote caller's or an
/// explicit context) when given, else under whatever tracing span encloses
/// it. Returns the span's own context when an OpenTelemetry layer is
/// recording it — the ids a call sends on and a handler sees — else `None`.
pub(crate) fn join(span: &tracing::Span, parent: Option<&TraceContext>) -> Option<TraceContext> {
    if span.is_disabled() {
        return None;
    }
    if let Some(parent) = parent {
        let remote = SpanContext::new(
            TraceId::from_bytes(parent.trace_id_bytes()),
            SpanId::from_bytes(parent.span_id_bytes()),
            TraceFlags::new(u8::from(parent.sampled())),
            true,
            parent
                .tracestate()
                .and_then(|state| state.parse::<TraceState>().ok())
                .unwrap_or_default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let context = span.context();
    let own = context.span().span_context().clone();
    if !own.is_valid() {
        return None;
    }
    let state = own.trace_state().header();
    Some(TraceContext::from_parts(
        own.trace_id().to_bytes(),
        own.span_id().to_bytes(),
        own.trace_flags().to_u8(),
        (!state.is_empty()).then_some(state),
    ))
}
