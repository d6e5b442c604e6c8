//! Wire-compatibility tests: hand-assembled protobuf bytes, laid out the way Thanos and
//! Prometheus (Go, gogoproto) encode them, must decode into the expected generated types, and
//! the generated gRPC services must answer on the Thanos paths.
//!
//! Encoding reminders for reading the byte arrays: a tag is the varint `field << 3 | wire_type`
//! (0 = varint, 1 = fixed64, 2 = length-delimited); `int64` is a plain two's complement varint
//! (negative values take 10 bytes, no zig-zag); `sint32`/`sint64` are zig-zag; `double` is 8
//! bytes little-endian; repeated scalars and enums are packed (one length-delimited field);
//! proto3 omits fields that hold their default value.

mod common;

use bytes::Bytes;
use common::{T_1700000000000, cat, label};
use prost::Message;
use strata_storeapi::TYPE_URL_PREFIX;
use strata_storeapi::pb::hintspb;
use strata_storeapi::pb::prometheus;
use strata_storeapi::pb::thanos::{
    self, Aggr, AggrChunk, LabelMatcher, PartialResponseStrategy, Series, SeriesRequest,
    SeriesResponse, chunk::Encoding, label_matcher::Type, series_response::Result as Frame,
};

/// `int64` -3_600_000 as a varint: two's complement, ten bytes.
const NEG_3600000: &[u8] = &[0x80, 0xa3, 0xa4, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
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
