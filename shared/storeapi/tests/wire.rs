//! Wire-compatibility tests: hand-assembled protobuf bytes, laid out the way Thanos and
//! Prometheus (Go, gogoproto) encode them, must decode into the expected generated types, and
//! the generated gRPC services must answer on the Thanos paths.
//!
//! Encoding reminders for reading the byte arrays: a tag is the varint `field << 3 | wire_type`
//! (0 = varint, 1 = fixed64, 2 = length-delimited); `int64` is a plain two's complement varint
//! (negative values take 10 bytes, no zig-zag); `sint32`/`sint64` are zig-zag; `double` is 8
//! bytes little-endian; repeated scalars and enums are packed (one length-delimited field);
//! proto3 omits fields that hold their default value.

use bytes::Bytes;
use prost::Message;
use strata_storeapi::TYPE_URL_PREFIX;
use strata_storeapi::pb::hintspb;
use strata_storeapi::pb::prometheus;
use strata_storeapi::pb::thanos::{
    self, Aggr, AggrChunk, Label, LabelMatcher, PartialResponseStrategy, Series, SeriesRequest,
    SeriesResponse, chunk::Encoding, label_matcher::Type, series_response::Result as Frame,
};

/// Concatenates byte slices; keeps the hand-built messages readable (strings as `b"..."`).
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// `int64` -3_600_000 as a varint: two's complement, ten bytes.
const NEG_3600000: &[u8] = &[0x80, 0xa3, 0xa4, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
/// 1_700_000_000_000 (ms) as a varint.
const T_1700000000000: &[u8] = &[0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31];
/// 300_000 as a varint.
const V_300000: &[u8] = &[0xe0, 0xa7, 0x12];
/// 30_000 as a varint.
const V_30000: &[u8] = &[0xb0, 0xea, 0x01];

const BLOCK_ULID: &[u8] = b"01HQ5B6W0D7CXQ1DGVXZ0QKTMH";
const BLOCK_ULID_2: &[u8] = b"01HQ5B6W0D7CXQ1DGVXZ0QKTMJ";

/// A `thanos.SeriesRequest` with every field set, as a Thanos querier would send it.
fn series_request_bytes() -> Vec<u8> {
    // hintspb.SeriesRequestHints, 44 bytes.
    let request_hints = cat(&[
        // 1 block_matchers: LabelMatcher (type EQ omitted), 40 bytes
        &[0x0a, 0x28],
        &[0x12, 0x0a],
        b"__block_id", // 2 name
        &[0x1a, 0x1a],
        BLOCK_ULID, // 3 value
        // 2 enable_query_stats = true
        &[0x10, 0x01],
    ]);
    assert_eq!(request_hints.len(), 0x2c);
    // google.protobuf.Any, 94 bytes.
    let any = cat(&[
        &[0x0a, 0x2e],
        b"type.googleapis.com/hintspb.SeriesRequestHints", // 1 type_url (46)
        &[0x12, 0x2c],
        &request_hints, // 2 value
    ]);
    assert_eq!(any.len(), 0x5e);

    cat(&[
        // 1 min_time = -3_600_000: tag 0x08, ten-byte varint
        &[0x08],
        NEG_3600000,
        // 2 max_time = 1_700_000_000_000
        &[0x10],
        T_1700000000000,
        // 3 matchers[0] = {type RE (2), name "job", value "api.*"}, 14 bytes
        &[0x1a, 0x0e],
        &[0x08, 0x02],
        &[0x12, 0x03],
        b"job",
        &[0x1a, 0x05],
        b"api.*",
        // 3 matchers[1] = {type EQ (default, omitted), name "__name__", value "up"}, 14 bytes
        &[0x1a, 0x0e],
        &[0x12, 0x08],
        b"__name__",
        &[0x1a, 0x02],
        b"up",
        // 4 max_resolution_window = 300_000
        &[0x20],
        V_300000,
        // 5 aggregates, packed: [COUNT 1, SUM 2, COUNTER 5]
        &[0x2a, 0x03, 0x01, 0x02, 0x05],
        // 6 partial_response_disabled = true
        &[0x30, 0x01],
        // 7 partial_response_strategy = ABORT (1)
        &[0x38, 0x01],
        // 8 skip_chunks = true
        &[0x40, 0x01],
        // 9 hints: Any (94 bytes)
        &[0x4a, 0x5e],
        &any,
        // 10 step = 30_000 (deprecated)
        &[0x50],
        V_30000,
        // 11 range = 300_000 (deprecated)
        &[0x58],
        V_300000,
        // 12 query_hints: QueryHints, 64 bytes
        &[0x62, 0x40],
        &[0x08],
        V_30000, // 1 step_millis
        &[0x12, 0x06, 0x0a, 0x04],
        b"rate",       // 2 func {1 name}
        &[0x22, 0x11], // 4 grouping, 17 bytes
        &[0x08, 0x01], //   1 by = true
        &[0x1a, 0x03],
        b"job", //   3 labels
        &[0x1a, 0x08],
        b"instance",
        &[0x2a, 0x04, 0x08],
        V_300000, // 5 range {1 millis}
        &[0x32, 0x03],
        b"job",        // 6 projection_labels
        &[0x38, 0x01], // 7 projection_include = true
        &[0x42, 0x12],
        b"__cf_series_hash__", // 8 series_hash_label_name
        // 13 shard_info: ShardInfo, 11 bytes
        &[0x6a, 0x0b],
        &[0x08, 0x01], // 1 shard_index = 1
        &[0x10, 0x04], // 2 total_shards = 4
        &[0x18, 0x01], // 3 by = true
        &[0x22, 0x03],
        b"job", // 4 labels
        // 14 without_replica_labels
        &[0x72, 0x07],
        b"replica",
        &[0x72, 0x0c],
        b"rule_replica",
        // 15 limit = 1000
        &[0x78, 0xe8, 0x07],
        // 16 response_batch_size = 64: field 16 needs a two-byte tag (128 = 0x80 0x01)
        &[0x80, 0x01, 0x40],
    ])
}

#[test]
fn series_request_decodes_every_field() {
    let bytes = series_request_bytes();
    let req = SeriesRequest::decode(bytes.as_slice()).expect("decode SeriesRequest");

    assert_eq!(req.min_time, -3_600_000);
    assert_eq!(req.max_time, 1_700_000_000_000);
    assert_eq!(
        req.matchers,
        vec![
            LabelMatcher {
                r#type: Type::Re as i32,
                name: "job".into(),
                value: "api.*".into(),
            },
            LabelMatcher {
                r#type: Type::Eq as i32,
                name: "__name__".into(),
                value: "up".into(),
            },
        ]
    );
    assert_eq!(req.matchers[0].r#type(), Type::Re);
    assert_eq!(req.max_resolution_window, 300_000);
    assert_eq!(
        req.aggregates().collect::<Vec<_>>(),
        vec![Aggr::Count, Aggr::Sum, Aggr::Counter]
    );
    assert!(req.partial_response_disabled);
    assert_eq!(
        req.partial_response_strategy(),
        PartialResponseStrategy::Abort
    );
    assert!(req.skip_chunks);
    assert_eq!(req.step, 30_000);
    assert_eq!(req.range, 300_000);

    let qh = req.query_hints.as_ref().expect("query_hints");
    assert_eq!(qh.step_millis, 30_000);
    assert_eq!(
        qh.func,
        Some(thanos::Func {
            name: "rate".into()
        })
    );
    assert_eq!(
        qh.grouping,
        Some(thanos::Grouping {
            by: true,
            labels: vec!["job".into(), "instance".into()],
        })
    );
    assert_eq!(qh.range, Some(thanos::Range { millis: 300_000 }));
    assert_eq!(qh.projection_labels, vec!["job".to_owned()]);
    assert!(qh.projection_include);
    assert_eq!(qh.series_hash_label_name, "__cf_series_hash__");

    assert_eq!(
        req.shard_info,
        Some(thanos::ShardInfo {
            shard_index: 1,
            total_shards: 4,
            by: true,
            labels: vec!["job".into()],
        })
    );
    assert_eq!(req.without_replica_labels, vec!["replica", "rule_replica"]);
    assert_eq!(req.limit, 1000);
    assert_eq!(req.response_batch_size, 64);

    // The hints Any carries a hintspb.SeriesRequestHints.
    let any = req.hints.as_ref().expect("hints");
    assert_eq!(
        any.type_url,
        "type.googleapis.com/hintspb.SeriesRequestHints"
    );
    assert_eq!(
        any.type_url,
        format!("{TYPE_URL_PREFIX}hintspb.SeriesRequestHints")
    );
    let hints = hintspb::SeriesRequestHints::decode(any.value.as_slice()).expect("decode hints");
    assert_eq!(
        hints,
        hintspb::SeriesRequestHints {
            block_matchers: vec![LabelMatcher {
                r#type: Type::Eq as i32,
                name: "__block_id".into(),
                value: String::from_utf8(BLOCK_ULID.to_vec()).expect("utf8"),
            }],
            enable_query_stats: true,
        }
    );

    // prost writes fields in field-number order, like Go: re-encoding gives the same bytes.
    assert_eq!(req.encode_to_vec(), bytes);
}

/// 12-byte XOR chunk with one sample (t=1000, v=1.0): BE16 sample count 1, zig-zag varint
/// timestamp (2000 = 0xd0 0x0f), the f64 bits big-endian.
const XOR_ONE_SAMPLE: &[u8] = &[
    0x00, 0x01, 0xd0, 0x0f, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
/// uint64 0xfedc_ba98_7654_3210 as a varint: ten bytes. (An arbitrary stand-in for the xxhash64
/// of the data; these tests check the wire, not the hash.)
const HASH_VARINT: &[u8] = &[0x90, 0xe4, 0xd0, 0xb2, 0x87, 0xd3, 0xae, 0xee, 0xfe, 0x01];
const HASH: u64 = 0xfedc_ba98_7654_3210;

fn series_frame_bytes() -> Vec<u8> {
    let series = cat(&[
        // 1 labels[0] = {__name__, up}, 14 bytes
        &[0x0a, 0x0e, 0x0a, 0x08],
        b"__name__",
        &[0x12, 0x02],
        b"up",
        // 1 labels[1] = {job, api}, 10 bytes
        &[0x0a, 0x0a, 0x0a, 0x03],
        b"job",
        &[0x12, 0x03],
        b"api",
        // 2 chunks[0]: AggrChunk with a raw XOR chunk, 33 bytes
        &[0x12, 0x21],
        &[0x08, 0xe8, 0x07], // 1 min_time = 1000
        &[0x10, 0xd0, 0x0f], // 2 max_time = 2000
        &[0x1a, 0x19],       // 3 raw: Chunk, 25 bytes (1 type XOR = 0 omitted)
        &[0x12, 0x0c],
        XOR_ONE_SAMPLE, //   2 data
        &[0x18],
        HASH_VARINT, //   3 hash
        // 2 chunks[1]: a downsampled AggrChunk with every aggregate, 43 bytes
        &[0x12, 0x2b],
        &[0x08],
        NEG_3600000,                                 // 1 min_time = -3_600_000
        &[0x10, 0xe8, 0x07],                         // 2 max_time = 1000
        &[0x22, 0x04, 0x12, 0x02, 0xaa, 0x01],       // 4 count {data aa 01}
        &[0x2a, 0x04, 0x12, 0x02, 0xbb, 0x02],       // 5 sum {data bb 02}
        &[0x32, 0x03, 0x12, 0x01, 0xcc],             // 6 min {data cc}
        &[0x3a, 0x03, 0x12, 0x01, 0xdd],             // 7 max {data dd}
        &[0x42, 0x05, 0x12, 0x01, 0xee, 0x18, 0x07], // 8 counter {data ee, hash 7}
    ]);
    assert_eq!(series.len(), 0x6c);
    // SeriesResponse 1 series
    cat(&[&[0x0a, 0x6c], &series])
}

fn chunk(data: &'static [u8], hash: u64) -> Option<thanos::Chunk> {
    Some(thanos::Chunk {
        r#type: Encoding::Xor as i32,
        data: Bytes::from_static(data),
        hash,
    })
}

#[test]
fn series_response_series_frame() {
    let bytes = series_frame_bytes();
    let frame = SeriesResponse::decode(bytes.as_slice()).expect("decode SeriesResponse");
    let Some(Frame::Series(series)) = &frame.result else {
        panic!("expected a series frame, got {frame:?}");
    };
    assert_eq!(
        series.labels,
        vec![label("__name__", "up"), label("job", "api")]
    );
    assert_eq!(series.chunks.len(), 2);

    let raw = &series.chunks[0];
    assert_eq!(raw.min_time, 1000);
    assert_eq!(raw.max_time, 2000);
    let raw_chunk = raw.raw.as_ref().expect("raw chunk");
    assert_eq!(raw_chunk.r#type(), Encoding::Xor);
    assert_eq!(raw_chunk.data.as_ref(), XOR_ONE_SAMPLE);
    assert_eq!(raw_chunk.hash, HASH);
    assert!(raw.count.is_none() && raw.sum.is_none() && raw.min.is_none());
    assert!(raw.max.is_none() && raw.counter.is_none());

    assert_eq!(
        series.chunks[1],
        AggrChunk {
            min_time: -3_600_000,
            max_time: 1000,
            raw: None,
            count: chunk(&[0xaa, 0x01], 0),
            sum: chunk(&[0xbb, 0x02], 0),
            min: chunk(&[0xcc], 0),
            max: chunk(&[0xdd], 0),
            counter: chunk(&[0xee], 7),
        }
    );

    assert_eq!(frame.encode_to_vec(), bytes);
}

#[test]
fn series_response_warning_frame() {
    let bytes = cat(&[
        // 2 warning
        &[0x12, 0x20],
        b"store 10.0.0.1:10901 unavailable",
    ]);
    let frame = SeriesResponse::decode(bytes.as_slice()).expect("decode");
    assert_eq!(
        frame.result,
        Some(Frame::Warning("store 10.0.0.1:10901 unavailable".into()))
    );
    assert_eq!(frame.encode_to_vec(), bytes);
}

#[test]
fn series_response_hints_frame() {
    // hintspb.QueryStats, 13 bytes
    let stats = cat(&[
        &[0x08, 0x02], // 1 blocks_queried = 2
        // 21 get_all_duration: tag (21 << 3 | 2) = 170 = 0xaa 0x01; Duration, 8 bytes
        &[0xaa, 0x01, 0x08],
        &[0x08, 0x01],                         // 1 seconds = 1
        &[0x10, 0x80, 0xca, 0xb5, 0xee, 0x01], // 2 nanos = 500_000_000
    ]);
    assert_eq!(stats.len(), 13);
    // hintspb.SeriesResponseHints, 75 bytes
    let hints = cat(&[
        &[0x0a, 0x1c, 0x0a, 0x1a],
        BLOCK_ULID, // 1 queried_blocks[0] {1 id}
        &[0x0a, 0x1c, 0x0a, 0x1a],
        BLOCK_ULID_2, // 1 queried_blocks[1]
        &[0x12, 0x0d],
        &stats, // 2 query_stats
    ]);
    assert_eq!(hints.len(), 75);
    // google.protobuf.Any, 126 bytes
    let any = cat(&[
        &[0x0a, 0x2f],
        b"type.googleapis.com/hintspb.SeriesResponseHints",
        &[0x12, 0x4b],
        &hints,
    ]);
    assert_eq!(any.len(), 126);
    // SeriesResponse 3 hints
    let bytes = cat(&[&[0x1a, 0x7e], &any]);

    let frame = SeriesResponse::decode(bytes.as_slice()).expect("decode");
    let Some(Frame::Hints(any)) = &frame.result else {
        panic!("expected a hints frame, got {frame:?}");
    };
    assert_eq!(
        any.type_url,
        "type.googleapis.com/hintspb.SeriesResponseHints"
    );
    let hints = hintspb::SeriesResponseHints::decode(any.value.as_slice()).expect("decode hints");
    let ids: Vec<&str> = hints.queried_blocks.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["01HQ5B6W0D7CXQ1DGVXZ0QKTMH", "01HQ5B6W0D7CXQ1DGVXZ0QKTMJ"]
    );
    let stats = hints.query_stats.expect("query_stats");
    assert_eq!(
        stats,
        hintspb::QueryStats {
            blocks_queried: 2,
            get_all_duration: Some(prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000,
            }),
            ..Default::default()
        }
    );

    assert_eq!(frame.encode_to_vec(), bytes);
}

#[test]
fn series_response_batch_frame() {
    let bytes = cat(&[
        // 4 batch: SeriesBatch, 66 bytes
        &[0x22, 0x42],
        // 1 series[0], 32 bytes
        &[0x0a, 0x20],
        &[0x0a, 0x0d, 0x0a, 0x08],
        b"__name__",
        &[0x12, 0x01],
        b"a",                                                    //   1 labels[0]
        &[0x12, 0x0f],                                           //   2 chunks[0], 15 bytes
        &[0x08, 0xe8, 0x07],                                     //     1 min_time = 1000
        &[0x10, 0xd0, 0x0f],                                     //     2 max_time = 2000
        &[0x1a, 0x07, 0x08, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03], // 3 raw {type HISTOGRAM, data}
        // 1 series[1], 30 bytes
        &[0x0a, 0x1e],
        &[0x0a, 0x0d, 0x0a, 0x08],
        b"__name__",
        &[0x12, 0x01],
        b"b",
        &[0x12, 0x0d],
        &[0x08, 0xe8, 0x07],
        &[0x10, 0xd0, 0x0f],
        &[0x1a, 0x05, 0x08, 0x02, 0x12, 0x01, 0x04], // 3 raw {type FLOAT_HISTOGRAM, data}
    ]);
    let frame = SeriesResponse::decode(bytes.as_slice()).expect("decode");
    let Some(Frame::Batch(batch)) = &frame.result else {
        panic!("expected a batch frame, got {frame:?}");
    };
    let raw = |data: &'static [u8], enc: Encoding| AggrChunk {
        min_time: 1000,
        max_time: 2000,
        raw: Some(thanos::Chunk {
            r#type: enc as i32,
            data: Bytes::from_static(data),
            hash: 0,
        }),
        ..Default::default()
    };
    assert_eq!(
        batch.series,
        vec![
            Series {
                labels: vec![label("__name__", "a")],
                chunks: vec![raw(&[1, 2, 3], Encoding::Histogram)],
            },
            Series {
                labels: vec![label("__name__", "b")],
                chunks: vec![raw(&[4], Encoding::FloatHistogram)],
            },
        ]
    );
    assert_eq!(frame.encode_to_vec(), bytes);
}

#[test]
fn enum_numbers_match_thanos() {
    // StoreAPI chunk encodings are not the TSDB encoding bytes.
    assert_eq!(Encoding::Xor as i32, 0);
    assert_eq!(Encoding::Histogram as i32, 1);
    assert_eq!(Encoding::FloatHistogram as i32, 2);
    assert_eq!(Aggr::Counter as i32, 5);
    assert_eq!(PartialResponseStrategy::Abort as i32, 1);
    assert_eq!(thanos::StoreType::Debug as i32, 6);
    assert_eq!(Type::Nre as i32, 3);
    // Remote read chunk encodings are the TSDB encoding bytes.
    assert_eq!(prometheus::chunk::Encoding::Xor as i32, 1);
    assert_eq!(prometheus::chunk::Encoding::FloatHistogramSt as i32, 6);
    assert_eq!(
        strata_storeapi::pb::prometheus_copy::chunk::Encoding::FloatHistogram as i32,
        3
    );
    assert_eq!(
        prometheus::read_request::ResponseType::StreamedXorChunks as i32,
        1
    );
}

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

mod grpc {
    //! The generated servers route the Thanos gRPC paths, checked with a raw client that
    //! names each path literally.

    use strata_storeapi::pb::thanos::info::{self, info_server};
    use strata_storeapi::pb::thanos::{
        self, InfoRequest, InfoResponse, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest,
        LabelValuesResponse, SeriesRequest, SeriesResponse, StoreType, WriteRequest, WriteResponse,
        series_response::Result as Frame, store_server, writeable_store_server,
    };
    use tonic::codegen::http::uri::PathAndQuery;
    use tonic::codegen::tokio_stream::{self, StreamExt};
    use tonic::transport::{Channel, Endpoint, Server, server::TcpIncoming};
    use tonic::{Request, Response, Status};

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    #[derive(Debug)]
    struct TestStore;

    #[tonic::async_trait]
    impl store_server::Store for TestStore {
        async fn info(&self, _: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
            Ok(Response::new(InfoResponse {
                min_time: -1,
                max_time: 42,
                store_type: StoreType::Store as i32,
                ..Default::default()
            }))
        }

        type SeriesStream = tokio_stream::Iter<std::vec::IntoIter<Result<SeriesResponse, Status>>>;

        async fn series(
            &self,
            request: Request<SeriesRequest>,
        ) -> Result<Response<Self::SeriesStream>, Status> {
            let min_time = request.into_inner().min_time;
            let frames = vec![
                Ok(SeriesResponse {
                    result: Some(Frame::Warning(format!("min_time={min_time}"))),
                }),
                Ok(SeriesResponse {
                    result: Some(Frame::Series(thanos::Series::default())),
                }),
            ];
            Ok(Response::new(tokio_stream::iter(frames)))
        }

        async fn label_names(
            &self,
            _: Request<LabelNamesRequest>,
        ) -> Result<Response<LabelNamesResponse>, Status> {
            Ok(Response::new(LabelNamesResponse {
                names: vec!["__name__".into(), "job".into()],
                ..Default::default()
            }))
        }

        async fn label_values(
            &self,
            request: Request<LabelValuesRequest>,
        ) -> Result<Response<LabelValuesResponse>, Status> {
            Ok(Response::new(LabelValuesResponse {
                values: vec![request.into_inner().label],
                ..Default::default()
            }))
        }
    }

    #[derive(Debug)]
    struct TestInfo;

    #[tonic::async_trait]
    impl info_server::Info for TestInfo {
        async fn info(
            &self,
            _: Request<info::InfoRequest>,
        ) -> Result<Response<info::InfoResponse>, Status> {
            Ok(Response::new(info::InfoResponse {
                component_type: "store".into(),
                store: Some(info::StoreInfo {
                    supports_without_replica_labels: true,
                    ..Default::default()
                }),
                ..Default::default()
            }))
        }
    }

    #[derive(Debug)]
    struct TestWriter;

    #[tonic::async_trait]
    impl writeable_store_server::WriteableStore for TestWriter {
        async fn remote_write(
            &self,
            request: Request<WriteRequest>,
        ) -> Result<Response<WriteResponse>, Status> {
            if request.into_inner().tenant == "t1" {
                Ok(Response::new(WriteResponse {}))
            } else {
                Err(Status::invalid_argument("unexpected tenant"))
            }
        }
    }

    async fn serve() -> Result<Channel, BoxError> {
        let incoming = TcpIncoming::bind("127.0.0.1:0".parse()?)?;
        let addr = incoming.local_addr()?;
        let server = Server::builder()
            .add_service(store_server::StoreServer::new(TestStore))
            .add_service(info_server::InfoServer::new(TestInfo))
            .add_service(writeable_store_server::WriteableStoreServer::new(
                TestWriter,
            ))
            .serve_with_incoming(incoming);
        tokio::spawn(server);
        Ok(Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?)
    }

    async fn unary<Req, Resp>(
        channel: &Channel,
        path: &'static str,
        request: Req,
    ) -> Result<Resp, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let response = grpc
            .unary(
                Request::new(request),
                PathAndQuery::from_static(path),
                codec,
            )
            .await?;
        Ok(response.into_inner())
    }

    #[test]
    fn service_names_are_thanos_ones() {
        assert_eq!(store_server::SERVICE_NAME, "thanos.Store");
        assert_eq!(info_server::SERVICE_NAME, "thanos.info.Info");
        assert_eq!(
            writeable_store_server::SERVICE_NAME,
            "thanos.WriteableStore"
        );
    }

    #[tokio::test]
    async fn servers_answer_on_thanos_paths() -> Result<(), BoxError> {
        let channel = serve().await?;

        let names: LabelNamesResponse = unary(
            &channel,
            "/thanos.Store/LabelNames",
            LabelNamesRequest::default(),
        )
        .await?;
        assert_eq!(names.names, vec!["__name__", "job"]);

        let values: LabelValuesResponse = unary(
            &channel,
            "/thanos.Store/LabelValues",
            LabelValuesRequest {
                label: "job".into(),
                ..Default::default()
            },
        )
        .await?;
        assert_eq!(values.values, vec!["job"]);

        let legacy: InfoResponse =
            unary(&channel, "/thanos.Store/Info", InfoRequest::default()).await?;
        assert_eq!(legacy.store_type(), StoreType::Store);
        assert_eq!((legacy.min_time, legacy.max_time), (-1, 42));

        let info: info::InfoResponse = unary(
            &channel,
            "/thanos.info.Info/Info",
            info::InfoRequest::default(),
        )
        .await?;
        assert_eq!(info.component_type, "store");
        assert!(
            info.store
                .expect("store info")
                .supports_without_replica_labels
        );

        let _: WriteResponse = unary(
            &channel,
            "/thanos.WriteableStore/RemoteWrite",
            WriteRequest {
                tenant: "t1".into(),
                ..Default::default()
            },
        )
        .await?;

        // Series is server-streaming.
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await?;
        let codec = tonic_prost::ProstCodec::<SeriesRequest, SeriesResponse>::default();
        let request = SeriesRequest {
            min_time: -5,
            ..Default::default()
        };
        let mut stream = grpc
            .server_streaming(
                Request::new(request),
                PathAndQuery::from_static("/thanos.Store/Series"),
                codec,
            )
            .await?
            .into_inner();
        let mut frames = Vec::new();
        while let Some(frame) = stream.next().await {
            frames.push(frame?.result);
        }
        assert_eq!(
            frames,
            vec![
                Some(Frame::Warning("min_time=-5".into())),
                Some(Frame::Series(thanos::Series::default())),
            ]
        );

        // A path outside the Thanos API is not routed.
        let err = unary::<LabelNamesRequest, LabelNamesResponse>(
            &channel,
            "/thanos.Store/Labels",
            LabelNamesRequest::default(),
        )
        .await
        .expect_err("unknown method");
        assert_eq!(err.code(), tonic::Code::Unimplemented);
        Ok(())
    }

    #[tokio::test]
    async fn generated_clients_reach_generated_servers() -> Result<(), BoxError> {
        let channel = serve().await?;
        let mut store = thanos::store_client::StoreClient::new(channel.clone());
        let values = store
            .label_values(LabelValuesRequest {
                label: "instance".into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(values.values, vec!["instance"]);

        let mut info = info::info_client::InfoClient::new(channel);
        let response = info.info(info::InfoRequest {}).await?.into_inner();
        assert_eq!(response.component_type, "store");
        Ok(())
    }
}
