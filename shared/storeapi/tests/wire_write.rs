//! Wire-compatibility of the write path: a Prometheus remote write 1.0 body and a Thanos
//! receive-forwarding request, hand-assembled as Go encodes them, decode field by field.
//! (Encoding reminders: see wire_store.rs.)

mod common;

use common::{T_1700000000000, cat, label};
use prost::Message;
use strata_storeapi::pb::prometheus;
use strata_storeapi::pb::thanos::{self};

/// A remote write 1.0 body (before snappy) as Prometheus sends it: a float series with an
/// exemplar and a stale marker, a native histogram series, and metadata.
fn remote_write_bytes() -> Vec<u8> {
    let float_series = cat(&[
        // 1 labels[0] = {__name__, http_requests_total}, 31 bytes
        &[0x0a, 0x1f, 0x0a, 0x08],
        b"__name__",
        &[0x12, 0x13],
        b"http_requests_total",
        // 1 labels[1] = {job, api}
        &[0x0a, 0x0a, 0x0a, 0x03],
        b"job",
        &[0x12, 0x03],
        b"api",
        // 2 samples[0] = {value 1.5, timestamp 1_700_000_000_000}, 16 bytes
        &[0x12, 0x10],
        &[0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f], // 1 value: fixed64 LE
        &[0x10],
        T_1700000000000, // 2 timestamp
        // 2 samples[1] = {value stale NaN 0x7ff0000000000002, timestamp 1_700_007_200_000}
        &[0x12, 0x10],
        &[0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f],
        &[0x10, 0x80, 0x8a, 0xcd, 0x82, 0xbd, 0x31],
        // 3 exemplars[0] = {labels [{trace_id, abc}], value 1.5, timestamp}, 33 bytes
        &[0x1a, 0x21],
        &[0x0a, 0x0f, 0x0a, 0x08],
        b"trace_id",
        &[0x12, 0x03],
        b"abc",
        &[0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f], // 2 value
        &[0x18],
        T_1700000000000, // 3 timestamp
    ]);
    assert_eq!(float_series.len(), 0x74);

    let histogram = cat(&[
        &[0x08, 0x05], // 1 count_int = 5 (oneof count)
        &[0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x40], // 3 sum = 10.0
        &[0x20, 0x01], // 4 schema = -1 (sint32 zig-zag: 1)
        &[0x29, 0xfc, 0xa9, 0xf1, 0xd2, 0x4d, 0x62, 0x50, 0x3f], // 5 zero_threshold = 0.001
        &[0x30, 0x01], // 6 zero_count_int = 1 (oneof zero_count)
        // 11 positive_spans[0] = {offset -2 (zig-zag 3), length 2}
        &[0x5a, 0x04, 0x08, 0x03, 0x10, 0x02],
        // 12 positive_deltas, packed sint64 [2, -1] (zig-zag [4, 1])
        &[0x62, 0x02, 0x04, 0x01],
        &[0x70, 0x02], // 14 reset_hint = NO
        &[0x78],
        T_1700000000000, // 15 timestamp
    ]);
    assert_eq!(histogram.len(), 0x2b);
    let histogram_series = cat(&[
        // 1 labels[0] = {__name__, rpc_latency}, 23 bytes
        &[0x0a, 0x17, 0x0a, 0x08],
        b"__name__",
        &[0x12, 0x0b],
        b"rpc_latency",
        // 4 histograms[0]
        &[0x22, 0x2b],
        &histogram,
    ]);
    assert_eq!(histogram_series.len(), 0x46);

    cat(&[
        // 1 timeseries
        &[0x0a, 0x74],
        &float_series,
        &[0x0a, 0x46],
        &histogram_series,
        // 3 metadata[0] = {COUNTER, http_requests_total, help, no unit}, 40 bytes
        &[0x1a, 0x28],
        &[0x08, 0x01],
        &[0x12, 0x13],
        b"http_requests_total",
        &[0x22, 0x0f],
        b"Total requests.",
        // 3 metadata[1] = {HISTOGRAM, rpc_latency, help, unit seconds}, 38 bytes
        &[0x1a, 0x26],
        &[0x08, 0x03],
        &[0x12, 0x0b],
        b"rpc_latency",
        &[0x22, 0x0c],
        b"RPC latency.",
        &[0x2a, 0x07],
        b"seconds",
    ])
}

#[test]
fn prometheus_remote_write_request_decodes() {
    use prometheus::{
        BucketSpan, Label as PLabel, MetricMetadata, Sample,
        histogram::{Count, ResetHint, ZeroCount},
        metric_metadata::MetricType,
    };
    let plabel = |name: &str, value: &str| PLabel {
        name: name.into(),
        value: value.into(),
    };

    let bytes = remote_write_bytes();
    let req = prometheus::WriteRequest::decode(bytes.as_slice()).expect("decode WriteRequest");
    assert_eq!(req.timeseries.len(), 2);

    let ts = &req.timeseries[0];
    assert_eq!(
        ts.labels,
        vec![
            plabel("__name__", "http_requests_total"),
            plabel("job", "api")
        ]
    );
    assert_eq!(ts.samples.len(), 2);
    assert_eq!(
        ts.samples[0],
        Sample {
            value: 1.5,
            timestamp: 1_700_000_000_000
        }
    );
    assert_eq!(ts.samples[1].value.to_bits(), 0x7ff0_0000_0000_0002);
    assert_eq!(ts.samples[1].timestamp, 1_700_007_200_000);
    assert_eq!(ts.exemplars.len(), 1);
    assert_eq!(ts.exemplars[0].labels, vec![plabel("trace_id", "abc")]);
    assert_eq!(ts.exemplars[0].value, 1.5);
    assert_eq!(ts.exemplars[0].timestamp, 1_700_000_000_000);
    assert!(ts.histograms.is_empty());

    let ts = &req.timeseries[1];
    assert_eq!(ts.labels, vec![plabel("__name__", "rpc_latency")]);
    assert!(ts.samples.is_empty() && ts.exemplars.is_empty());
    assert_eq!(
        ts.histograms,
        vec![prometheus::Histogram {
            count: Some(Count::CountInt(5)),
            sum: 10.0,
            schema: -1,
            zero_threshold: 0.001,
            zero_count: Some(ZeroCount::ZeroCountInt(1)),
            positive_spans: vec![BucketSpan {
                offset: -2,
                length: 2
            }],
            positive_deltas: vec![2, -1],
            reset_hint: ResetHint::No as i32,
            timestamp: 1_700_000_000_000,
            ..Default::default()
        }]
    );

    assert_eq!(
        req.metadata,
        vec![
            MetricMetadata {
                r#type: MetricType::Counter as i32,
                metric_family_name: "http_requests_total".into(),
                help: "Total requests.".into(),
                unit: String::new(),
            },
            MetricMetadata {
                r#type: MetricType::Histogram as i32,
                metric_family_name: "rpc_latency".into(),
                help: "RPC latency.".into(),
                unit: "seconds".into(),
            },
        ]
    );

    // prost writes fields in tag order, oneof members included, as Go does. (Compare bytes, not
    // messages: the stale NaN is not equal to itself.)
    assert_eq!(req.encode_to_vec(), bytes);
}

#[test]
fn prometheus_copy_timeseries_uses_thanos_labels() {
    // thanos.WriteRequest{timeseries [{labels [{a, b}], samples [{value 2.0, timestamp 1000}]}],
    // tenant "t1", replica 1}, as a receiver forwards it.
    let bytes = cat(&[
        &[0x0a, 0x16],
        &[0x0a, 0x06, 0x0a, 0x01],
        b"a",
        &[0x12, 0x01],
        b"b",
        &[
            0x12, 0x0c, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x10, 0xe8, 0x07,
        ],
        &[0x12, 0x02],
        b"t1",
        &[0x18, 0x01],
    ]);
    let req = thanos::WriteRequest::decode(bytes.as_slice()).expect("decode");
    assert_eq!(req.tenant, "t1");
    assert_eq!(req.replica, 1);
    assert!(req.timeseries_tenant_data.is_empty());
    let ts = &req.timeseries[0];
    assert_eq!(ts.labels, vec![label("a", "b")]);
    assert_eq!(ts.samples[0].value, 2.0);
    assert_eq!(ts.samples[0].timestamp, 1000);
    assert_eq!(req.encode_to_vec(), bytes);
}
