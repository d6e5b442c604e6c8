//! Remote write 2.0: content negotiation (which `Content-Type`/`Content-Encoding` is which
//! message, which is 415), and decoding `io.prometheus.write.v2.Request` bodies (symbols
//! table, the bad-input table, the same output as 1.0 for the same series).

#![allow(clippy::unwrap_used)]

use strata_receive::Error;
use strata_receive::remote_write::{
    DecodeOptions, WriteProto, decode_proto, decode_v2_with, encode, encode_v2, encode_v2_request,
    negotiate,
};
use strata_storeapi::pb::write_v2::{Exemplar, Histogram, Request, Sample, TimeSeries};
use strata_tsdb::labels::Labels;

const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

#[test]
fn content_negotiation() {
    let ok = [
        (None, None, WriteProto::V1),
        (Some(""), Some(""), WriteProto::V1),
        (
            Some("application/x-protobuf"),
            Some("snappy"),
            WriteProto::V1,
        ),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            None,
            WriteProto::V1,
        ),
        (Some(V2), Some("snappy"), WriteProto::V2),
        (
            Some("Application/X-Protobuf; charset=x; Proto=\"io.prometheus.write.v2.Request\""),
            Some("SNAPPY"),
            WriteProto::V2,
        ),
    ];
    for (ct, enc, want) in ok {
        assert_eq!(negotiate(ct, enc).unwrap(), want, "{ct:?} {enc:?}");
    }
    let bad = [
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
            None,
            "unknown proto message",
        ),
        (Some("application/json"), None, "media type must be"),
        (Some("application/x-protobuf;proto"), None, "name=value"),
        (Some(V2), Some("gzip"), "only snappy"),
        (Some("application/x-protobuf"), Some("zstd"), "only snappy"),
    ];
    for (ct, enc, msg) in bad {
        let e = negotiate(ct, enc).unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedMediaType { .. }),
            "{ct:?} {enc:?}: {e:?}"
        );
        assert_eq!(e.status().as_u16(), 415);
        assert!(e.to_string().contains(msg), "{ct:?} {enc:?}: {e}");
    }
}

fn sample_series() -> Vec<(Labels, Vec<(i64, f64)>)> {
    vec![
        (
            Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            vec![(1000, 1.0), (2000, f64::NAN), (3000, -4.5)],
        ),
        (
            Labels::from_pairs([("__name__", "up"), ("job", "b"), ("zone", "a")]),
            vec![(1000, 0.0)],
        ),
    ]
}

#[test]
fn v2_decodes_to_what_v1_decodes() {
    let opts = DecodeOptions::default();
    let series = sample_series();
    let v1 = decode_proto(WriteProto::V1, &encode(&series).unwrap(), &opts).unwrap();
    let v2 = decode_proto(WriteProto::V2, &encode_v2(&series).unwrap(), &opts).unwrap();
    assert_eq!(v2.samples, 4);
    assert_eq!(format!("{v1:?}"), format!("{v2:?}"));
    // A 1.0 body read as 2.0 (fields 1 to 3 are reserved in 2.0): an empty request, and the
    // other way round no series either; only the Content-Type tells them apart.
    let crossed = decode_v2_with(&encode(&series).unwrap(), &opts).unwrap();
    assert!(crossed.series.is_empty());
    let crossed = decode_proto(WriteProto::V1, &encode_v2(&series).unwrap(), &opts).unwrap();
    assert!(crossed.series.is_empty());
}

fn refs_series(refs: &[u32]) -> TimeSeries {
    TimeSeries {
        labels_refs: refs.to_vec(),
        samples: vec![Sample {
            value: 1.0,
            timestamp: 1000,
        }],
        ..Default::default()
    }
}

fn v2_body(timeseries: Vec<TimeSeries>) -> Vec<u8> {
    let symbols = ["", "__name__", "up", "job", "a"]
        .map(String::from)
        .to_vec();
    encode_v2_request(&Request {
        symbols,
        timeseries,
    })
    .unwrap()
}

#[test]
fn v2_bad_input_table() {
    let opts = DecodeOptions::default();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "odd labels_refs",
            v2_body(vec![refs_series(&[1, 2, 3])]),
            400,
            "count must be even",
        ),
        (
            "ref past the symbols table",
            v2_body(vec![refs_series(&[1, 2, 3, 9])]),
            400,
            "refers to symbol 9, the request has 5 symbols",
        ),
        (
            "unsorted labels",
            v2_body(vec![refs_series(&[3, 4, 1, 2])]),
            400,
            "out of order labels",
        ),
        (
            "no metric name",
            v2_body(vec![refs_series(&[3, 4])]),
            400,
            "empty metric name",
        ),
        (
            "histogram samples",
            v2_body(vec![TimeSeries {
                histograms: vec![Histogram { timestamp: 1000 }],
                ..refs_series(&[1, 2])
            }]),
            400,
            "native histograms are not supported yet",
        ),
        (
            "samples out of order",
            v2_body(vec![TimeSeries {
                samples: vec![
                    Sample {
                        value: 1.0,
                        timestamp: 2000,
                    },
                    Sample {
                        value: 1.0,
                        timestamp: 1000,
                    },
                ],
                ..refs_series(&[1, 2])
            }]),
            409,
            "out of order sample",
        ),
        (
            "not protobuf",
            strata_receive::remote_write::compress(b"\xff\xff\xff not protobuf").unwrap(),
            400,
            "protobuf decode error",
        ),
    ];
    for (name, body, status, msg) in cases {
        let e = decode_v2_with(&body, &opts).unwrap_err();
        assert_eq!(e.status().as_u16(), status, "{name}: {e}");
        assert!(e.to_string().contains(msg), "{name}: {e}");
    }
}

#[test]
fn v2_exemplars_are_dropped_and_counted() {
    let body = v2_body(vec![TimeSeries {
        exemplars: vec![Exemplar {
            labels_refs: vec![3, 4],
            value: 1.0,
            timestamp: 1000,
        }],
        ..refs_series(&[1, 2, 3, 4])
    }]);
    let d = decode_v2_with(&body, &DecodeOptions::default()).unwrap();
    assert_eq!(d.exemplars_dropped, 1);
    assert_eq!(d.samples, 1);
    assert_eq!(
        d.series[0].0,
        Labels::from_pairs([("__name__", "up"), ("job", "a")])
    );
}
