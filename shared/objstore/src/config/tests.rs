//! Unit tests of the objstore YAML parsing and client building (no network).

use std::io::Write;

use object_store::{ObjectStoreExt, PutPayload};

use super::*;

fn err(yaml: &str) -> String {
    match BucketConfig::from_yaml(yaml) {
        Ok(c) => match c.build() {
            Ok(_) => panic!("expected an error for:\n{yaml}"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

fn s3(yaml: &str) -> S3Config {
    match BucketConfig::from_yaml(yaml).unwrap().provider {
        ProviderConfig::S3(c) => c,
        other => panic!("not S3: {other:?}"),
    }
}

#[tokio::test]
async fn memory_builds_and_works() {
    let store = from_yaml("type: MEMORY").unwrap();
    let p = object_store::path::Path::from("x");
    store.put(&p, PutPayload::from_static(b"1")).await.unwrap();
    assert_eq!(store.head(&p).await.unwrap().size, 1);
    // `config:` empty or `{}` is fine; keys are not.
    assert!(from_yaml("type: MEMORY\nconfig: {}").is_ok());
    assert!(
        from_yaml("type: memory\nconfig:\n").is_ok(),
        "type is case-insensitive"
    );
    let e = err("type: MEMORY\nconfig:\n  directory: /x");
    assert!(
        e.starts_with("MEMORY config: unknown field `directory`"),
        "{e}"
    );
}

#[tokio::test]
async fn filesystem_creates_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/bucket");
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {}\n",
        dir.display()
    );
    let c = BucketConfig::from_yaml(&yaml).unwrap();
    assert_eq!(
        c.provider,
        ProviderConfig::Filesystem(FilesystemConfig {
            directory: dir.clone()
        })
    );
    let store = c.build().unwrap();
    assert!(dir.is_dir(), "directory created");
    let p = object_store::path::Path::from("blk/meta.json");
    store.put(&p, PutPayload::from_static(b"{}")).await.unwrap();
    assert!(dir.join("blk/meta.json").is_file());
    assert_eq!(
        err("type: FILESYSTEM\nconfig: {}"),
        "FILESYSTEM config: missing required key `directory`"
    );
    assert_eq!(
        err("type: FILESYSTEM"),
        "FILESYSTEM config: missing required key `directory`"
    );
}

#[tokio::test]
async fn prefix_wraps_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {}\nprefix: /tenant-a/\n",
        tmp.path().display()
    );
    let c = BucketConfig::from_yaml(&yaml).unwrap();
    assert_eq!(c.prefix, "/tenant-a/");
    let store = c.build().unwrap();
    let p = object_store::path::Path::from("x/y");
    store.put(&p, PutPayload::from_static(b"1")).await.unwrap();
    assert!(tmp.path().join("tenant-a/x/y").is_file());
    assert!(
        store.head(&p).await.is_ok(),
        "paths are relative to the prefix"
    );
}

#[test]
fn envelope_errors_are_clear() {
    let e = err("type: SWIFT\nconfig: {}");
    assert!(e.contains("\"SWIFT\" is not supported by strata"), "{e}");
    assert!(
        e.contains("supported types: FILESYSTEM, MEMORY, S3, COS, ALIYUNOSS, GCS, AZURE"),
        "{e}"
    );
    let e = err("type: DROPBOX");
    assert!(
        e.contains("bucket type \"DROPBOX\" is unknown; supported types:"),
        "{e}"
    );
    let e = err("config:\n  bucket: b");
    assert!(
        e.starts_with("objstore config: missing required key `type` (one of FILESYSTEM"),
        "{e}"
    );
    let e = err("type: S3\nbucket: b");
    assert!(
        e.starts_with("objstore config: unknown field `bucket`"),
        "{e}"
    );
    assert_eq!(err(""), "objstore config: empty document");
    let e = err("type: [S3");
    assert!(e.starts_with("objstore config: "), "{e}");
    let e = err("type: S3\nconfig: 12");
    assert!(e.starts_with("S3 config: "), "{e}");
}

#[test]
fn s3_config_parses_every_key() {
    let c = s3(r#"
type: s3
config:
  bucket: thanos
  endpoint: minio:9000
  region: eu-west-1
  access_key: AK
  secret_key: SK
  session_token: TOK
  insecure: true
  bucket_lookup_type: path
  max_retries: 3
  part_size: 134217728
  sse_config:
    type: SSE-KMS
    kms_key_id: key-1
    kms_encryption_context: {a: b}
  http_config:
    idle_conn_timeout: 1m30s
    response_header_timeout: 2m
    insecure_skip_verify: true
    tls_handshake_timeout: 10s
    expect_continue_timeout: 1s
    max_idle_conns: 100
    max_idle_conns_per_host: 100
    max_conns_per_host: 0
    force_attempt_http2: false
    disable_compression: false
    tls_config:
      insecure_skip_verify: true
      server_name: minio
  aws_sdk_auth: false
  disable_dualstack: true
  signature_version2: false
  put_user_metadata: {X-Amz-Storage-Class: STANDARD}
  trace:
    enable: true
  list_objects_version: v2
  send_content_md5: true
  disable_multipart: false
  sts_endpoint: ""
"#);
    assert_eq!(c.bucket, "thanos");
    assert_eq!(c.bucket_lookup_type, BucketLookupType::Path);
    assert_eq!(c.part_size(), 128 * 1024 * 1024);
    assert_eq!(c.max_retries, Some(3));
    assert_eq!(
        c.http_config.idle_conn_timeout,
        Some(PromDuration(std::time::Duration::from_secs(90)))
    );
    assert_eq!(c.sse_config.kind, "SSE-KMS");
    let t = c.target().unwrap();
    assert_eq!(t.endpoint_url, "http://minio:9000");
    assert!(!t.virtual_hosted);
    assert_eq!(t.region, "eu-west-1");
    t.build(&c.http_config).unwrap();
}

#[test]
fn s3_endpoints_and_lookup_styles() {
    let t = s3("type: S3\nconfig: {bucket: b, endpoint: s3.eu-central-1.amazonaws.com}")
        .target()
        .unwrap();
    assert!(t.virtual_hosted, "auto is virtual-hosted on AWS");
    assert_eq!(t.endpoint_url, "https://b.s3.eu-central-1.amazonaws.com");
    assert_eq!(t.region, "eu-central-1");
    let t = s3("type: S3\nconfig: {bucket: b, endpoint: 'minio.local:9000'}")
        .target()
        .unwrap();
    assert!(!t.virtual_hosted, "auto is path style elsewhere");
    assert_eq!(t.endpoint_url, "https://minio.local:9000");
    assert_eq!(t.region, "us-east-1");
    let t = s3(
        "type: S3\nconfig: {bucket: b, endpoint: 'ceph:80', insecure: true, bucket_lookup_type: virtual-hosted}",
    )
    .target()
    .unwrap();
    assert_eq!(t.endpoint_url, "http://b.ceph:80");
    // Building needs no network, with or without static keys.
    let c = s3("type: S3\nconfig: {bucket: b, endpoint: 's3.amazonaws.com'}");
    c.target().unwrap().build(&c.http_config).unwrap();
    let c = s3("type: S3\nconfig: {bucket: b, endpoint: 'x:1', access_key: a, secret_key: s}");
    c.target().unwrap().build(&c.http_config).unwrap();
}

#[test]
fn s3_errors_name_the_key() {
    assert_eq!(
        err("type: S3\nconfig: {endpoint: 'x:1'}"),
        "S3 config: missing required key `bucket`"
    );
    assert_eq!(
        err("type: S3\nconfig: {bucket: b}"),
        "S3 config: missing required key `endpoint`"
    );
    assert_eq!(err("type: S3"), "S3 config: missing required key `bucket`");
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', access_key: a}");
    assert!(
        e.starts_with("S3 config: missing required key `secret_key` (`access_key` is set"),
        "{e}"
    );
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', secret_key: s}");
    assert!(
        e.starts_with("S3 config: missing required key `access_key`"),
        "{e}"
    );
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'http://x:1'}");
    assert!(
        e.starts_with("S3 config: `endpoint` must be host[:port] without a scheme"),
        "{e}"
    );
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1/path'}");
    assert!(
        e.starts_with("S3 config: `endpoint` must be host[:port] without a path"),
        "{e}"
    );
    let e = err(
        "type: S3\nconfig: {bucket: b, endpoint: 'x:1', aws_sdk_auth: true, access_key: a, secret_key: s}",
    );
    assert_eq!(
        e,
        "S3 config: `aws_sdk_auth` and `access_key` are mutually exclusive"
    );
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', bogus: 1}");
    assert!(e.starts_with("S3 config: unknown field `bogus`"), "{e}");
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', bucket_lookup_type: dns}");
    assert!(e.starts_with("S3 config: unknown variant `dns`"), "{e}");
    let e = err(
        "type: S3\nconfig: {bucket: b, endpoint: 'x:1', http_config: {idle_conn_timeout: soon}}",
    );
    assert!(e.starts_with("S3 config: invalid duration \"soon\""), "{e}");
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', http_config: {nope: 1}}");
    assert!(e.starts_with("S3 config: unknown field `nope`"), "{e}");
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', sse_config: {type: SSE-X}}");
    assert_eq!(
        e,
        "S3 config: unsupported sse_config.type \"SSE-X\" (supported: SSE-S3, SSE-KMS, SSE-C)"
    );
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', sse_config: {type: SSE-KMS}}");
    assert_eq!(e, "S3 config: missing required key `sse_config.kms_key_id`");
    let e = err("type: S3\nconfig: {bucket: b, endpoint: 'x:1', sse_config: {type: SSE-C}}");
    assert_eq!(
        e,
        "S3 config: missing required key `sse_config.encryption_key`"
    );
    let e = err(
        "type: S3\nconfig: {bucket: b, endpoint: 'x:1', sse_config: {type: SSE-C, encryption_key: /nonexistent/key}}",
    );
    assert!(
        e.starts_with("S3 config: reading sse_config.encryption_key /nonexistent/key"),
        "{e}"
    );
}

#[test]
fn s3_sse_variants_build() {
    let mut key = tempfile::NamedTempFile::new().unwrap();
    key.write_all(&[7u8; 32]).unwrap();
    let yaml = format!(
        "type: S3\nconfig: {{bucket: b, endpoint: 'x:1', sse_config: {{type: SSE-C, encryption_key: {}}}}}",
        key.path().display()
    );
    BucketConfig::from_yaml(&yaml).unwrap().build().unwrap();
    let mut short = tempfile::NamedTempFile::new().unwrap();
    short.write_all(b"short").unwrap();
    let yaml = format!(
        "type: S3\nconfig: {{bucket: b, endpoint: 'x:1', sse_config: {{type: SSE-C, encryption_key: {}}}}}",
        short.path().display()
    );
    let e = err(&yaml);
    assert!(e.ends_with("must hold 32 bytes, got 5"), "{e}");
    from_yaml("type: S3\nconfig: {bucket: b, endpoint: 'x:1', sse_config: {type: SSE-S3}}")
        .unwrap();
    from_yaml("type: S3\nconfig: {bucket: b, endpoint: 'x:1', sse_config: {type: SSE-KMS, kms_key_id: k}}")
        .unwrap();
}

#[test]
fn cos_maps_to_virtual_hosted_s3() {
    let yaml = "type: COS\nconfig:\n  bucket: thanos\n  region: ap-beijing\n  app_id: 1250000000\n  secret_id: id\n  secret_key: key\n  max_retries: 2\n";
    let c = match BucketConfig::from_yaml(yaml).unwrap().provider {
        ProviderConfig::Cos(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.app_id, "1250000000", "numeric app_id reads as a string");
    let t = c.target().unwrap();
    assert_eq!(t.bucket, "thanos-1250000000");
    assert_eq!(
        t.endpoint_url,
        "https://thanos-1250000000.cos.ap-beijing.myqcloud.com"
    );
    assert_eq!(t.region, "ap-beijing");
    assert!(t.virtual_hosted);
    from_yaml(yaml).unwrap();
    let with_endpoint = "type: COS\nconfig: {endpoint: 'https://b-125.cos.ap-guangzhou.myqcloud.com', secret_id: i, secret_key: k}";
    let t = match BucketConfig::from_yaml(with_endpoint).unwrap().provider {
        ProviderConfig::Cos(c) => c.target().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (t.bucket.as_str(), t.region.as_str()),
        ("b-125", "ap-guangzhou")
    );
    assert_eq!(
        t.endpoint_url,
        "https://b-125.cos.ap-guangzhou.myqcloud.com"
    );
    assert_eq!(
        err("type: COS\nconfig: {bucket: b, region: r, app_id: 1, secret_key: k}"),
        "COS config: missing required key `secret_id`"
    );
    assert_eq!(
        err("type: COS\nconfig: {region: r, app_id: 1, secret_id: i, secret_key: k}"),
        "COS config: missing required key `bucket`"
    );
    assert_eq!(
        err("type: COS\nconfig: {bucket: b, region: r, secret_id: i, secret_key: k}"),
        "COS config: missing required key `app_id`"
    );
    assert_eq!(
        err("type: COS\nconfig: {bucket: b, app_id: 1, secret_id: i, secret_key: k}"),
        "COS config: missing required key `region`"
    );
    assert_eq!(
        err("type: COS\nconfig: {endpoint: 'https://minio:9000', secret_id: i, secret_key: k}"),
        "COS config: missing required key `region`"
    );
    let e = err("type: COS\nconfig: {access_key: x}");
    assert!(
        e.starts_with("COS config: unknown field `access_key`"),
        "{e}"
    );
}

#[test]
fn aliyun_oss_maps_to_virtual_hosted_s3() {
    let yaml = "type: ALIYUNOSS\nconfig:\n  endpoint: oss-cn-hangzhou.aliyuncs.com\n  bucket: thanos\n  access_key_id: id\n  access_key_secret: secret\n";
    let c = match BucketConfig::from_yaml(yaml).unwrap().provider {
        ProviderConfig::AliyunOss(c) => c,
        other => panic!("{other:?}"),
    };
    let t = c.target().unwrap();
    assert_eq!(
        t.endpoint_url,
        "https://thanos.s3.oss-cn-hangzhou.aliyuncs.com"
    );
    assert_eq!(t.region, "cn-hangzhou");
    assert_eq!(
        (t.access_key.as_str(), t.secret_key.expose()),
        ("id", "secret")
    );
    from_yaml(yaml).unwrap();
    let internal = OssConfig {
        endpoint: "http://oss-cn-beijing-internal.aliyuncs.com".into(),
        bucket: "b".into(),
        access_key_id: "i".into(),
        access_key_secret: "s".into(),
    };
    let t = internal.target().unwrap();
    assert_eq!(
        t.endpoint_url,
        "http://b.s3.oss-cn-beijing-internal.aliyuncs.com"
    );
    assert_eq!(t.region, "cn-beijing");
    for (key, yaml) in [
        (
            "endpoint",
            "{bucket: b, access_key_id: i, access_key_secret: s}",
        ),
        (
            "bucket",
            "{endpoint: e, access_key_id: i, access_key_secret: s}",
        ),
        (
            "access_key_id",
            "{endpoint: e, bucket: b, access_key_secret: s}",
        ),
        (
            "access_key_secret",
            "{endpoint: e, bucket: b, access_key_id: i}",
        ),
    ] {
        assert_eq!(
            err(&format!("type: ALIYUNOSS\nconfig: {yaml}")),
            format!("ALIYUNOSS config: missing required key `{key}`")
        );
    }
    let e = err("type: ALIYUNOSS\nconfig: {access_key: x}");
    assert!(
        e.starts_with("ALIYUNOSS config: unknown field `access_key`"),
        "{e}"
    );
}

/// A service account that needs no private key (object_store's fake-gcs-server support).
const FAKE_SERVICE_ACCOUNT: &str = r#"{"gcs_base_url": "http://127.0.0.1:4443", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}"#;

#[test]
fn gcs_builds_offline() {
    let yaml = format!(
        "type: GCS\nconfig:\n  bucket: thanos\n  service_account: '{FAKE_SERVICE_ACCOUNT}'\n  max_retries: 2\n  use_grpc: false\n  chunk_size_bytes: 1024\n  http_config: {{idle_conn_timeout: 30s}}\n"
    );
    let c = BucketConfig::from_yaml(&yaml).unwrap();
    match &c.provider {
        ProviderConfig::Gcs(g) => {
            assert_eq!(g.bucket, "thanos");
            assert_eq!(g.max_retries, Some(2));
        }
        other => panic!("{other:?}"),
    }
    c.build().unwrap();
    assert_eq!(
        err("type: GCS\nconfig: {service_account: x}"),
        "GCS config: missing required key `bucket`"
    );
    let e = err("type: GCS\nconfig: {bucket: b, service_account: 'not json'}");
    assert!(e.starts_with("GCS config: "), "{e}");
    let e = err("type: GCS\nconfig: {bucket: b, project: p}");
    assert!(e.starts_with("GCS config: unknown field `project`"), "{e}");
}

#[test]
fn azure_builds_offline() {
    let yaml = "type: AZURE\nconfig:\n  storage_account: acct\n  storage_account_key: a2V5a2V5a2V5\n  container: thanos\n  max_retries: 3\n  reader_config: {max_retry_requests: 2}\n  pipeline_config: {max_tries: 3, try_timeout: 0s}\n";
    let c = BucketConfig::from_yaml(yaml).unwrap();
    match &c.provider {
        ProviderConfig::Azure(a) => {
            assert_eq!(
                (a.storage_account.as_str(), a.container.as_str()),
                ("acct", "thanos")
            );
        }
        other => panic!("{other:?}"),
    }
    c.build().unwrap();
    // Custom endpoint suffix, managed identity, connection string.
    from_yaml("type: AZURE\nconfig: {storage_account: a, container: c, endpoint: blob.core.chinacloudapi.cn, user_assigned_id: 00000000-0000-0000-0000-000000000000}").unwrap();
    from_yaml("type: AZURE\nconfig: {container: c, storage_connection_string: 'DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=a2V5;EndpointSuffix=core.windows.net'}").unwrap();
    from_yaml("type: AZURE\nconfig: {storage_account: a, container: c, client_id: i, client_secret: s, az_tenant_id: t}").unwrap();
    assert_eq!(
        err("type: AZURE\nconfig: {container: c}"),
        "AZURE config: missing required key `storage_account`"
    );
    assert_eq!(
        err("type: AZURE\nconfig: {storage_account: a}"),
        "AZURE config: missing required key `container`"
    );
    assert_eq!(
        err(
            "type: AZURE\nconfig: {storage_account: a, container: c, client_secret: s, az_tenant_id: t}"
        ),
        "AZURE config: missing required key `client_id`"
    );
    let e = err("type: AZURE\nconfig: {storage_account: a, container: c, account_key: k}");
    assert!(
        e.starts_with("AZURE config: unknown field `account_key`"),
        "{e}"
    );
}

#[test]
fn flags_and_files() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"type: MEMORY\n").unwrap();
    // The flag pair (file or inline, not both) is strata_runtime::cli::ObjstoreFlags'.
    let c = BucketConfig::from_file(f.path()).unwrap();
    assert_eq!(c.provider, ProviderConfig::Memory);
    from_file(f.path()).unwrap();
    let e = BucketConfig::from_file(std::path::Path::new("/nonexistent/objstore.yml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("objstore config: reading /nonexistent/objstore.yml: "),
        "{e}"
    );
}

#[test]
fn part_size_defaults_to_64mib() {
    assert_eq!(
        BucketConfig::from_yaml("type: MEMORY").unwrap().part_size(),
        DEFAULT_PART_SIZE
    );
    let c = BucketConfig::from_yaml("type: S3\nconfig: {bucket: b, endpoint: 'x:1', part_size: 0}")
        .unwrap();
    assert_eq!(c.part_size(), DEFAULT_PART_SIZE);
}

#[test]
fn secrets_are_not_printed() {
    let c = BucketConfig::from_yaml(
        "type: S3\nconfig: {bucket: b, endpoint: 'x:1', access_key: AKID, secret_key: hunter2, session_token: tok3n}",
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(
        dbg.contains("AKID") && dbg.contains("Secret(<redacted>)"),
        "{dbg}"
    );
    assert!(!dbg.contains("hunter2") && !dbg.contains("tok3n"), "{dbg}");
    assert_eq!(format!("{:?}", Secret::default()), "Secret(\"\")");
}
