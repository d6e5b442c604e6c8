//! Prometheus remote write 1.0 and 2.0: content negotiation, decoding and validating request
//! bodies, and encoding them (for tests and the load generator).
//!
//! Spec followed: the Prometheus remote write 1.0 spec (`docs/specs/remote_write_spec.md`: a
//! protobuf `prometheus.WriteRequest`, compressed with the Snappy *block* format, never the framed
//! format), with the validation of Prometheus' `storage/remote/write_handler.go` +
//! `tsdb/head_append.go` and Thanos receive's `labelpb.ValidateLabels` — but stricter in one
//! respect, as issue 6 demands: a request with any invalid series is rejected as a whole
//! (Prometheus silently skips such series), because nothing partial is ever acknowledged.
//!
//! This module is pure (no I/O, no HTTP framework). The HTTP handler calls [`decode`] (or
//! [`decode_with`]) on the raw body and, on error, answers [`Error::status`] with the
//! error's `Display` text as the body; the gRPC `WriteableStore` path can reuse
//! [`validate_labels`] and [`validate_samples`] on its own message type.
//!
//! # Rules
//!
//! * Body: Snappy block format. The decompressed length claimed by the header is checked
//!   against the caller's limit *before* anything is allocated (413 if over); corrupt Snappy
//!   is 400 (message `snappy decode error: …`, as in Thanos). The protobuf must decode as a
//!   `WriteRequest` (400 `protobuf decode error: …`); prost already rejects label names or
//!   values that are not UTF-8.
//! * A request with no series is valid (Prometheus sends metadata-only requests about once
//!   a minute); [`DecodedWrite::metadata`] counts its metadata entries. Metadata is not kept.
//! * Labels of a series, as sent (400 on any violation): at least one label; every name
//!   non-empty; names strictly increasing byte-wise (unsorted → "out of order labels",
//!   equal → "duplicate label names"); a `__name__` label with a non-empty value; every name
//!   valid under the [`NameValidation`] scheme. The default is [`NameValidation::Utf8`]
//!   (Prometheus 3's default: any non-empty UTF-8 name), because Thanos receive does not
//!   check the character set of names at all, and Prometheus 3 senders may send UTF-8
//!   names; [`NameValidation::Legacy`] (`[a-zA-Z_][a-zA-Z0-9_]*`, metric names also `:`)
//!   is available for stricter deployments. After validation, labels with an empty value
//!   are dropped (they do not exist in Prometheus — `Labels.WithoutEmpty` in the head).
//! * Samples: values are any `f64` (NaN — including the stale marker `0x7ff0000000000002`,
//!   kept bit-exact — and ±Inf are fine); timestamps are any `i64` milliseconds (whether
//!   a timestamp is too old or too far in the future is for the head to decide). Within
//!   one series entry timestamps must not decrease: an earlier timestamp is an
//!   out-of-order sample (409, the code Thanos receive uses for out-of-order/duplicate
//!   samples); the same timestamp with a bit-identical value is dropped as a duplicate
//!   (Prometheus ignores such duplicates), with a different value it is a conflict (409).
//!   So every series entry in the output has strictly increasing timestamps.
//! * Series without samples are validated and then left out of the output. Exemplars are
//!   not stored yet: they are dropped and counted in [`DecodedWrite::exemplars_dropped`].
//!   Native histograms are not supported yet: a series carrying any is rejected (400) with
//!   a message saying so.
//! * The same label set may appear in several entries of one request; they are kept as
//!   separate entries in request order (the head appends them in that order).
//!
//! # Remote write 2.0
//!
//! Spec followed: the Prometheus remote write 2.0 spec (`docs/specs/remote_write_spec_2_0.md`),
//! with the content negotiation of Prometheus' `storage/remote/write_handler.go`. [`negotiate`]
//! picks the message from the request headers: `Content-Type: application/x-protobuf` (or no
//! `Content-Type`) and `proto=prometheus.WriteRequest` are 1.0,
//! `proto=io.prometheus.write.v2.Request` is 2.0; another media type or `proto=` is 415, as is
//! a `Content-Encoding` other than `snappy` (none at all is taken as `snappy`, as Prometheus
//! does for 1.0 senders). A 2.0 body ([`decode_v2_with`]) is the same Snappy block format
//! around an `io.prometheus.write.v2.Request`: each series' `labels_refs` are (name, value)
//! index pairs into the request's `symbols`; an odd count or an index past the table is 400.
//! The labels they resolve to, the samples, histograms (400) and exemplars (dropped) then
//! follow the 1.0 rules above, so both versions produce the same [`DecodedWrite`]. Series
//! metadata and created timestamps are not kept.
//!
//! Exceeding the compressed-body limit is the HTTP layer's check (it knows the
//! `Content-Length`); it reports it with [`Error::BodyTooLarge`] so that all rejections share
//! one type and one status mapping.

use prost::Message;
use strata_storeapi::pb::prometheus::{Label as PbLabel, Sample as PbSample, WriteRequest};
use strata_storeapi::pb::write_v2;
use strata_tsdb::labels::{Label, Labels, METRIC_NAME};

use crate::{Error, LabelProblem};

/// A default limit for the decompressed request size: 64 MiB (a Prometheus batch of 2000
/// samples is a few hundred KiB; this leaves room for large batches from other senders).
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// Longest label-set text quoted in an error message; longer ones are cut with `…`.
const MAX_LABELS_IN_MESSAGE: usize = 512;

/// The only media type of remote write (both versions).
pub const PROTOBUF_MEDIA_TYPE: &str = "application/x-protobuf";
/// `proto=` of the remote write 1.0 message.
pub const V1_PROTO: &str = "prometheus.WriteRequest";
/// `proto=` of the remote write 2.0 message.
pub const V2_PROTO: &str = "io.prometheus.write.v2.Request";
/// The only supported `Content-Encoding` (Snappy block format).
pub const SNAPPY_ENCODING: &str = "snappy";

/// The remote write message a request carries, chosen by [`negotiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteProto {
    /// `prometheus.WriteRequest` (remote write 1.0).
    V1,
    /// `io.prometheus.write.v2.Request` (remote write 2.0).
    V2,
}

/// The message of a request from its `Content-Type` and `Content-Encoding` headers (`None`
/// when absent); see the module docs. Unsupported values are [`Error::UnsupportedMediaType`].
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<WriteProto, Error> {
    if let Some(enc) = content_encoding.map(str::trim).filter(|e| !e.is_empty())
        && !enc.eq_ignore_ascii_case(SNAPPY_ENCODING)
    {
        return Err(Error::UnsupportedMediaType {
            header: "Content-Encoding",
            value: enc.to_string(),
            reason: format!("only {SNAPPY_ENCODING} (block format) is supported"),
        });
    }
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(WriteProto::V1);
    };
    let unsupported = |reason: String| Error::UnsupportedMediaType {
        header: "Content-Type",
        value: ct.to_string(),
        reason,
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE) {
        return Err(unsupported(format!(
            "the media type must be {PROTOBUF_MEDIA_TYPE}"
        )));
    }
    for param in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = param.split_once('=') else {
            return Err(unsupported(format!(
                "parameter {param:?} is not a name=value pair"
            )));
        };
        if !name.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        return match value {
            V1_PROTO => Ok(WriteProto::V1),
            V2_PROTO => Ok(WriteProto::V2),
            _ => Err(unsupported(format!(
                "unknown proto message {value:?}; supported: {V1_PROTO}, {V2_PROTO}"
            ))),
        };
    }
    Ok(WriteProto::V1)
}

/// Which label names are accepted (Prometheus' `model.ValidationScheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Any non-empty UTF-8 name; the metric name is any non-empty UTF-8 value
    /// (Prometheus 3's default, and effectively what Thanos receive accepts).
    #[default]
    Utf8,
    /// Label names `[a-zA-Z_][a-zA-Z0-9_]*`, metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`
    /// (Prometheus 2's rules).
    Legacy,
}

impl NameValidation {
    /// True if `name` is a valid label name under this scheme.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            Self::Utf8 => !name.is_empty(),
            Self::Legacy => legacy_name(name, false),
        }
    }

    /// True if `value` is a valid metric name (`__name__` value) under this scheme.
    pub fn is_valid_metric_name(self, value: &str) -> bool {
        match self {
            Self::Utf8 => !value.is_empty(),
            Self::Legacy => legacy_name(value, true),
        }
    }
}

fn legacy_name(s: &str, allow_colon: bool) -> bool {
    let ok_first = |b: u8| b.is_ascii_alphabetic() || b == b'_' || (allow_colon && b == b':');
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if ok_first(b) => bytes.all(|b| ok_first(b) || b.is_ascii_digit()),
        _ => false,
    }
}

/// Options for [`decode_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest accepted decompressed body, in bytes (413 above it).
    pub max_decompressed: usize,
    /// Which label names are valid.
    pub name_validation: NameValidation,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED_BYTES,
            name_validation: NameValidation::default(),
        }
    }
}

/// A decoded, validated remote write request, ready to append to a head.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodedWrite {
    /// Series in request order: valid labels (sorted, unique, no empty values, with a metric
    /// name) and samples `(timestamp ms, value)` with strictly increasing timestamps; never
    /// an empty sample list.
    pub series: Vec<(Labels, Vec<(i64, f64)>)>,
    /// Number of metadata entries in the request (not kept).
    pub metadata: usize,
    /// Total number of samples in `series`.
    pub samples: usize,
    /// Exemplars in the request, dropped because they are not stored yet.
    pub exemplars_dropped: usize,
}

/// Decode and validate a remote write 1.0 body with UTF-8 name validation.
pub fn decode(body: &[u8], max_decompressed: usize) -> Result<DecodedWrite, Error> {
    decode_with(
        body,
        &DecodeOptions {
            max_decompressed,
            name_validation: NameValidation::Utf8,
        },
    )
}

/// Decode and validate a remote write 1.0 body.
pub fn decode_with(body: &[u8], opts: &DecodeOptions) -> Result<DecodedWrite, Error> {
    let raw = decompress(body, opts.max_decompressed)?;
    let req = WriteRequest::decode(raw.as_slice()).map_err(Error::Protobuf)?;
    drop(raw);
    validate_request(req, opts.name_validation)
}

/// Decode and validate a body of message `proto` (from [`negotiate`]).
pub fn decode_proto(
    proto: WriteProto,
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<DecodedWrite, Error> {
    match proto {
        WriteProto::V1 => decode_with(body, opts),
        WriteProto::V2 => decode_v2_with(body, opts),
    }
}

/// Decode and validate a remote write 2.0 body (see the module docs).
pub fn decode_v2_with(body: &[u8], opts: &DecodeOptions) -> Result<DecodedWrite, Error> {
    let raw = decompress(body, opts.max_decompressed)?;
    let req = write_v2::Request::decode(raw.as_slice()).map_err(Error::Protobuf)?;
    drop(raw);
    validate_v2_request(req, opts.name_validation)
}

/// Validate a decoded `io.prometheus.write.v2.Request` and convert it: the same rules and
/// output as [`validate_request`], labels resolved through the symbols table.
pub fn validate_v2_request(
    req: write_v2::Request,
    scheme: NameValidation,
) -> Result<DecodedWrite, Error> {
    let symbols = req.symbols;
    let mut out = DecodedWrite {
        series: Vec::with_capacity(req.timeseries.len()),
        ..DecodedWrite::default()
    };
    for (index, ts) in req.timeseries.into_iter().enumerate() {
        let labels = resolve_refs(index, &ts.labels_refs, &symbols)?;
        let entry = Entry {
            index,
            histograms: ts.histograms.len(),
            exemplars: ts.exemplars.len(),
        };
        let points = ts.samples.iter().map(|s| (s.timestamp, s.value));
        out.push(entry, labels, scheme, points)?;
    }
    Ok(out)
}

/// The labels of 2.0 series entry `index`: `refs` are (name, value) index pairs into `symbols`.
fn resolve_refs(index: usize, refs: &[u32], symbols: &[String]) -> Result<Vec<Label>, Error> {
    if !refs.len().is_multiple_of(2) {
        return Err(Error::InvalidSymbolRefs {
            index,
            reason: format!(
                "{} labels_refs: not (name, value) pairs, the count must be even",
                refs.len()
            ),
        });
    }
    let symbol = |r: u32| {
        usize::try_from(r)
            .ok()
            .and_then(|i| symbols.get(i))
            .cloned()
            .ok_or_else(|| Error::InvalidSymbolRefs {
                index,
                reason: format!(
                    "labels_refs refers to symbol {r}, the request has {} symbols",
                    symbols.len()
                ),
            })
    };
    refs.chunks_exact(2)
        .map(|pair| {
            Ok(Label {
                name: symbol(pair[0])?,
                value: symbol(pair[1])?,
            })
        })
        .collect()
}

/// Snappy-block-decompress `body`, refusing (before allocating) a claimed decompressed
/// size above `max_decompressed`.
pub fn decompress(body: &[u8], max_decompressed: usize) -> Result<Vec<u8>, Error> {
    let len = snap::raw::decompress_len(body).map_err(Error::Snappy)?;
    if len > max_decompressed {
        return Err(Error::DecompressedTooLarge {
            len,
            limit: max_decompressed,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(Error::Snappy)
}

/// Validate a decoded `WriteRequest` and convert it (moving its strings, no copies).
pub fn validate_request(req: WriteRequest, scheme: NameValidation) -> Result<DecodedWrite, Error> {
    let mut out = DecodedWrite {
        series: Vec::with_capacity(req.timeseries.len()),
        metadata: req.metadata.len(),
        samples: 0,
        exemplars_dropped: 0,
    };
    for (index, ts) in req.timeseries.into_iter().enumerate() {
        let labels: Vec<Label> = ts
            .labels
            .into_iter()
            .map(|PbLabel { name, value }| Label { name, value })
            .collect();
        let entry = Entry {
            index,
            histograms: ts.histograms.len(),
            exemplars: ts.exemplars.len(),
        };
        let points = ts.samples.iter().map(|s| (s.timestamp, s.value));
        out.push(entry, labels, scheme, points)?;
    }
    Ok(out)
}

/// What a series entry of either message version carries besides labels and samples.
struct Entry {
    /// Index of the entry in the request (0-based).
    index: usize,
    /// Native histogram samples (refused).
    histograms: usize,
    /// Exemplars (dropped and counted).
    exemplars: usize,
}

impl DecodedWrite {
    /// Validates one series entry of either message version and adds it (entries without
    /// samples are skipped).
    fn push(
        &mut self,
        entry: Entry,
        labels: Vec<Label>,
        scheme: NameValidation,
        points: impl ExactSizeIterator<Item = (i64, f64)>,
    ) -> Result<(), Error> {
        let index = entry.index;
        check_labels(index, &labels, scheme)?;
        if entry.histograms > 0 {
            return Err(Error::HistogramsUnsupported {
                index,
                series: format_labels(&labels),
                count: entry.histograms,
            });
        }
        self.exemplars_dropped += entry.exemplars;
        let samples = validate_points(index, &labels, points)?;
        if !samples.is_empty() {
            self.samples += samples.len();
            self.series.push((without_empty(labels), samples));
        }
        Ok(())
    }
}

/// Validate the label set of series entry `index` as sent (see the module docs) and return
/// it as [`Labels`], with empty-valued labels dropped.
pub fn validate_labels(
    index: usize,
    labels: Vec<Label>,
    scheme: NameValidation,
) -> Result<Labels, Error> {
    check_labels(index, &labels, scheme)?;
    Ok(without_empty(labels))
}

fn without_empty(mut labels: Vec<Label>) -> Labels {
    labels.retain(|l| !l.value.is_empty());
    Labels::from_sorted(labels)
}

/// [`label_problem`] as an [`Error::InvalidLabels`] of series entry `index`.
fn check_labels(index: usize, labels: &[Label], scheme: NameValidation) -> Result<(), Error> {
    match label_problem(labels, scheme) {
        None => Ok(()),
        Some(problem) => Err(Error::InvalidLabels {
            index,
            series: format_labels(labels),
            problem,
        }),
    }
}

fn label_problem(labels: &[Label], scheme: NameValidation) -> Option<LabelProblem> {
    if labels.is_empty() {
        return Some(LabelProblem::Empty);
    }
    let mut metric_name = None;
    let mut prev: Option<&str> = None;
    for l in labels {
        if l.name.is_empty() {
            return Some(LabelProblem::EmptyName);
        }
        if let Some(p) = prev {
            match l.name.as_str().cmp(p) {
                std::cmp::Ordering::Equal => return Some(LabelProblem::Duplicate(l.name.clone())),
                std::cmp::Ordering::Less => {
                    return Some(LabelProblem::OutOfOrder {
                        earlier: p.to_string(),
                        later: l.name.clone(),
                    });
                }
                std::cmp::Ordering::Greater => {}
            }
        }
        if l.name == METRIC_NAME {
            metric_name = Some(l.value.as_str());
        } else if !scheme.is_valid_label_name(&l.name) {
            return Some(LabelProblem::InvalidName(l.name.clone()));
        }
        prev = Some(&l.name);
    }
    match metric_name {
        None | Some("") => Some(LabelProblem::MissingMetricName),
        Some(v) if !scheme.is_valid_metric_name(v) => {
            Some(LabelProblem::InvalidMetricName(v.to_string()))
        }
        Some(_) => None,
    }
}

/// Check the samples of series entry `index` (labels only for messages): timestamps must
/// not decrease; bit-identical duplicates are dropped, conflicting ones rejected.
pub fn validate_samples(
    index: usize,
    labels: &[Label],
    samples: &[PbSample],
) -> Result<Vec<(i64, f64)>, Error> {
    validate_points(
        index,
        labels,
        samples.iter().map(|s| (s.timestamp, s.value)),
    )
}

/// [`validate_samples`] over `(timestamp, value)` pairs of any message version.
fn validate_points(
    index: usize,
    labels: &[Label],
    points: impl ExactSizeIterator<Item = (i64, f64)>,
) -> Result<Vec<(i64, f64)>, Error> {
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(points.len());
    for (timestamp, value) in points {
        if let Some(&(pt, pv)) = out.last() {
            if timestamp < pt {
                return Err(Error::OutOfOrderInRequest {
                    index,
                    series: format_labels(labels),
                    timestamp,
                    previous: pt,
                });
            }
            if timestamp == pt {
                if pv.to_bits() == value.to_bits() {
                    continue;
                }
                return Err(Error::DuplicateInRequest {
                    index,
                    series: format_labels(labels),
                    timestamp,
                });
            }
        }
        out.push((timestamp, value));
    }
    Ok(out)
}

/// `{a="1", b="2"}` with escaped values, cut after [`MAX_LABELS_IN_MESSAGE`] characters.
fn format_labels(labels: &[Label]) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&l.name);
        s.push('=');
        s.push_str(&format!("{:?}", l.value));
        if s.len() > MAX_LABELS_IN_MESSAGE {
            let mut cut = MAX_LABELS_IN_MESSAGE;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push('…');
            break;
        }
    }
    s.push('}');
    s
}

/// Encode series as a remote write 1.0 body (protobuf `WriteRequest` + Snappy block).
/// Labels and samples are written as given (no validation). As with every proto3 encoder
/// (Prometheus' included) a value of `-0.0` is not written and so decodes as `0.0`; all
/// other values, NaN payloads such as the stale marker included, round-trip bit-exactly.
pub fn encode(series: &[(Labels, Vec<(i64, f64)>)]) -> Result<Vec<u8>, Error> {
    let req = WriteRequest {
        timeseries: series
            .iter()
            .map(
                |(labels, samples)| strata_storeapi::pb::prometheus::TimeSeries {
                    labels: labels
                        .iter()
                        .map(|l| PbLabel {
                            name: l.name.clone(),
                            value: l.value.clone(),
                        })
                        .collect(),
                    samples: samples
                        .iter()
                        .map(|&(timestamp, value)| PbSample { value, timestamp })
                        .collect(),
                    exemplars: Vec::new(),
                    histograms: Vec::new(),
                },
            )
            .collect(),
        metadata: Vec::new(),
    };
    encode_request(&req)
}

/// Encode any `WriteRequest` (e.g. metadata-only, or deliberately invalid for tests).
pub fn encode_request(req: &WriteRequest) -> Result<Vec<u8>, Error> {
    compress(&req.encode_to_vec())
}

/// Encode series as a remote write 2.0 body (protobuf `io.prometheus.write.v2.Request` with a
/// de-duplicated symbols table starting with `""`, + Snappy block), as a Prometheus 3 sender
/// does; labels and samples are written as given.
pub fn encode_v2(series: &[(Labels, Vec<(i64, f64)>)]) -> Result<Vec<u8>, Error> {
    let mut symbols = vec![String::new()];
    let mut index = std::collections::HashMap::from([(String::new(), 0u32)]);
    let mut intern = |s: &str| -> u32 {
        if let Some(&i) = index.get(s) {
            return i;
        }
        let i = u32::try_from(symbols.len()).unwrap_or(u32::MAX);
        symbols.push(s.to_string());
        index.insert(s.to_string(), i);
        i
    };
    let timeseries = series
        .iter()
        .map(|(labels, samples)| write_v2::TimeSeries {
            labels_refs: labels
                .iter()
                .flat_map(|l| [intern(&l.name), intern(&l.value)])
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| write_v2::Sample { value, timestamp })
                .collect(),
            ..Default::default()
        })
        .collect();
    encode_v2_request(&write_v2::Request {
        symbols,
        timeseries,
    })
}

/// Encode any `io.prometheus.write.v2.Request` (e.g. deliberately invalid, for tests).
pub fn encode_v2_request(req: &write_v2::Request) -> Result<Vec<u8>, Error> {
    compress(&req.encode_to_vec())
}

/// Snappy-block-compress raw bytes (fails only for inputs over ~4 GiB).
pub fn compress(raw: &[u8]) -> Result<Vec<u8>, Error> {
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .map_err(Error::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names() {
        let l = NameValidation::Legacy;
        assert!(l.is_valid_label_name("job_1"));
        assert!(l.is_valid_label_name("_x"));
        assert!(!l.is_valid_label_name("1x"));
        assert!(!l.is_valid_label_name("a:b"));
        assert!(!l.is_valid_label_name("a-b"));
        assert!(!l.is_valid_label_name(""));
        assert!(l.is_valid_metric_name("a:b_total"));
        assert!(!l.is_valid_metric_name("a.b"));
        assert!(NameValidation::Utf8.is_valid_label_name("a.b-ü"));
        assert!(!NameValidation::Utf8.is_valid_label_name(""));
    }

    #[test]
    fn format_is_cut() {
        let labels = vec![Label::new("a", "x".repeat(2000))];
        let s = format_labels(&labels);
        assert!(s.len() < MAX_LABELS_IN_MESSAGE + 8);
        assert!(s.ends_with("…}"));
        assert_eq!(format_labels(&[Label::new("a", "q\"")]), r#"{a="q\""}"#);
    }

    #[test]
    fn validate_labels_drops_empty_values() {
        let ls = validate_labels(
            0,
            vec![
                Label::new("__name__", "up"),
                Label::new("a", ""),
                Label::new("b", "1"),
            ],
            NameValidation::Utf8,
        )
        .unwrap();
        assert_eq!(ls, Labels::from_pairs([("__name__", "up"), ("b", "1")]));
    }
}
