//! Block upload and download between a local block directory and a bucket, following Thanos'
//! `block.Upload` / `block.Download` order (`pkg/block/block.go`): chunks, index, tombstones, then
//! meta.json last, so a block without meta.json is always a partial upload. An upload first
//! deletes what an interrupted upload of the same block left (objects under `<ULID>/` without
//! meta.json: nothing reads them), so the retry leaves the block whole and nothing else.
//! Invisible leftovers stay: S3 incomplete multipart uploads (an `AbortIncompleteMultipartUpload`
//! lifecycle rule removes them) and FILESYSTEM staging files (`chunks/000001#1`, which
//! object_store's `LocalFileSystem` neither lists nor deletes).

use std::path::{Path as FsPath, PathBuf};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use strata_tsdb::meta::{
    BlockFile, BlockMeta, CHUNKS_DIRNAME, DELETION_MARK_FILENAME, INDEX_FILENAME, META_FILENAME,
    NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME, TOMBSTONES_FILENAME,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ulid::Ulid;

use super::{block_path, block_prefix, dir_ulid};
use crate::config::DEFAULT_PART_SIZE;
use crate::{Error, Result};

/// How files are uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOptions {
    /// Files larger than this go up as multipart uploads of parts this size (S3 `part_size`).
    pub part_size: u64,
    /// Parts in flight per file during a multipart upload.
    pub part_concurrency: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            part_size: DEFAULT_PART_SIZE,
            part_concurrency: 4,
        }
    }
}

/// Upload the local block directory `dir` (named by its ULID) with default options.
pub async fn upload_block(store: &dyn ObjectStore, dir: &FsPath) -> Result<BlockMeta> {
    upload_block_with(store, dir, &UploadOptions::default()).await
}

fn invalid(dir: &FsPath, reason: impl Into<String>) -> Error {
    Error::InvalidBlockDir {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// The block's files to upload, sorted by relative path, with sizes; meta.json not included.
fn gather_files(dir: &FsPath) -> Result<Vec<(String, u64)>> {
    let mut files = Vec::new();
    let chunks = dir.join(CHUNKS_DIRNAME);
    let entries = std::fs::read_dir(&chunks)
        .map_err(|e| invalid(dir, format!("reading {CHUNKS_DIRNAME}/: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&chunks, e))?;
        let md = entry.metadata().map_err(|e| Error::io(entry.path(), e))?;
        if !md.is_file() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(invalid(dir, "a chunk file name is not utf-8"));
        };
        files.push((format!("{CHUNKS_DIRNAME}/{name}"), md.len()));
    }
    let index = dir.join(INDEX_FILENAME);
    let md = std::fs::metadata(&index)
        .map_err(|e| invalid(dir, format!("reading {INDEX_FILENAME}: {e}")))?;
    files.push((INDEX_FILENAME.to_string(), md.len()));
    match std::fs::metadata(dir.join(TOMBSTONES_FILENAME)) {
        Ok(md) if md.is_file() => files.push((TOMBSTONES_FILENAME.to_string(), md.len())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dir.join(TOMBSTONES_FILENAME), e)),
    }
    files.sort();
    Ok(files)
}

/// Upload the local block directory `dir`: it must be named by the block's ULID and hold
/// meta.json with a `thanos` section carrying non-empty external labels, `chunks/` and `index`.
/// Fills `thanos.files` (and `thanos.segment_files` when empty), uploads chunks, index and
/// tombstones, then meta.json last. Returns the uploaded meta. The local directory is not
/// modified.
pub async fn upload_block_with(
    store: &dyn ObjectStore,
    dir: &FsPath,
    opts: &UploadOptions,
) -> Result<BlockMeta> {
    let id = dir_ulid(dir)?;
    let mut meta = BlockMeta::read_from_dir(dir)
        .map_err(|e| invalid(dir, format!("reading {META_FILENAME}: {e}")))?;
    if meta.ulid != id {
        return Err(invalid(
            dir,
            format!(
                "{META_FILENAME} has ulid {} but the directory is {id}",
                meta.ulid
            ),
        ));
    }
    let files = gather_files(dir)?;
    let thanos = meta.thanos.as_mut().ok_or_else(|| {
        invalid(
            dir,
            format!("{META_FILENAME} has no `thanos` section; external labels are required"),
        )
    })?;
    if thanos.labels.is_empty() {
        return Err(invalid(
            dir,
            format!("{META_FILENAME} has empty thanos.labels; external labels are required"),
        ));
    }
    let mut listed: Vec<BlockFile> = files
        .iter()
        .map(|(rel, size)| BlockFile {
            rel_path: rel.clone(),
            size_bytes: Some(*size),
            hash: None,
        })
        .collect();
    listed.push(BlockFile {
        rel_path: META_FILENAME.to_string(),
        size_bytes: None,
        hash: None,
    });
    listed.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    thanos.files = listed;
    if thanos.segment_files.is_empty() {
        thanos.segment_files = files
            .iter()
            .filter_map(|(rel, _)| rel.strip_prefix(&format!("{CHUNKS_DIRNAME}/")))
            .map(str::to_owned)
            .collect();
    }

    remove_partial_upload(store, id).await?;
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    // chunks/* sort before index, and index before tombstones: Thanos' order falls out of the sort.
    for (rel, size) in &files {
        upload_file(store, &dir.join(rel), &block_path(id, rel), *size, opts).await?;
    }
    store
        .put(
            &block_path(id, META_FILENAME),
            PutPayload::from(meta.to_json()),
        )
        .await?;
    tracing::info!(block = %id, files = files.len() + 1, bytes = total, "uploaded block");
    Ok(meta)
}

/// Delete the objects of block `id` if it has no meta.json (a partial upload, see the module
/// docs); a complete block is left as it is (the upload then overwrites its files).
async fn remove_partial_upload(store: &dyn ObjectStore, id: Ulid) -> Result<()> {
    let prefix = block_prefix(id);
    let meta = block_path(id, META_FILENAME);
    let objects: Vec<Path> = store
        .list(Some(&prefix))
        .map_ok(|m| m.location)
        .try_collect()
        .await?;
    if objects.is_empty() || objects.contains(&meta) {
        return Ok(());
    }
    tracing::info!(block = %id, objects = objects.len(),
        "deleting the leftovers of an interrupted upload before uploading again");
    super::delete_block(store, id).await
}

async fn upload_file(
    store: &dyn ObjectStore,
    src: &FsPath,
    dst: &Path,
    size: u64,
    opts: &UploadOptions,
) -> Result<()> {
    let part_size = opts.part_size.max(5 * 1024 * 1024);
    if size <= part_size {
        let data = tokio::fs::read(src).await.map_err(|e| Error::io(src, e))?;
        store.put(dst, PutPayload::from(Bytes::from(data))).await?;
        tracing::debug!(path = %dst, bytes = size, "uploaded file");
        return Ok(());
    }
    let chunk = usize::try_from(part_size).unwrap_or(usize::MAX);
    let upload = store.put_multipart(dst).await?;
    let mut w = WriteMultipart::new_with_chunk_size(upload, chunk);
    match copy_into(src, &mut w, opts.part_concurrency.max(1)).await {
        Ok(()) => {
            w.finish().await?;
            tracing::debug!(path = %dst, bytes = size, "uploaded file (multipart)");
            Ok(())
        }
        Err(e) => {
            if let Err(abort) = w.abort().await {
                tracing::warn!(path = %dst, error = %abort, "aborting multipart upload failed");
            }
            Err(e)
        }
    }
}

async fn copy_into(src: &FsPath, w: &mut WriteMultipart, concurrency: usize) -> Result<()> {
    let mut f = tokio::fs::File::open(src)
        .await
        .map_err(|e| Error::io(src, e))?;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        w.wait_for_capacity(concurrency).await?;
        let n = f.read(&mut buf).await.map_err(|e| Error::io(src, e))?;
        if n == 0 {
            return Ok(());
        }
        w.write(&buf[..n]);
    }
}

fn is_marker(rel: &str) -> bool {
    matches!(
        rel,
        DELETION_MARK_FILENAME | NO_COMPACT_MARK_FILENAME | NO_DOWNSAMPLE_MARK_FILENAME
    )
}

/// Download block `id` into `dst` (the block directory itself, e.g. `<data>/<ulid>`), created if
/// missing. Every object under `<id>/` except marker files is fetched and streamed to disk,
/// meta.json last; sizes are checked against `thanos.files` when present.
pub async fn download_block(store: &dyn ObjectStore, id: Ulid, dst: &FsPath) -> Result<BlockMeta> {
    let meta_bytes = store
        .get(&block_path(id, META_FILENAME))
        .await?
        .bytes()
        .await?;
    let meta = BlockMeta::from_json(&meta_bytes).map_err(|e| Error::block(id, e))?;
    let prefix = block_prefix(id);
    let mut objects: Vec<(String, u64)> = Vec::new();
    let mut listing = store.list(Some(&prefix));
    while let Some(m) = listing.next().await {
        let m = m?;
        let Some(rel) = m.location.prefix_match(&prefix) else {
            continue;
        };
        let rel = rel
            .map(|p| p.as_ref().to_string())
            .collect::<Vec<_>>()
            .join("/");
        if rel.is_empty() || rel == META_FILENAME || is_marker(&rel) {
            continue;
        }
        objects.push((rel, m.size));
    }
    objects.sort();
    if let Some(t) = &meta.thanos {
        for f in &t.files {
            let Some(want) = f.size_bytes else { continue };
            match objects.iter().find(|(rel, _)| *rel == f.rel_path) {
                Some((_, got)) if *got == want => {}
                Some((_, got)) => {
                    return Err(Error::block(
                        id,
                        strata_tsdb::Error::Corrupted {
                            what: "block files",
                            reason: format!(
                                "{} is {got} bytes in the bucket, meta.json says {want}",
                                f.rel_path
                            ),
                        },
                    ));
                }
                None => {
                    return Err(Error::block(
                        id,
                        strata_tsdb::Error::Corrupted {
                            what: "block files",
                            reason: format!("{} is listed in meta.json but missing", f.rel_path),
                        },
                    ));
                }
            }
        }
    }
    tokio::fs::create_dir_all(dst)
        .await
        .map_err(|e| Error::io(dst, e))?;
    let mut total = 0;
    for (rel, size) in &objects {
        let local = dst.join(rel);
        download_file(store, &block_path(id, rel), &local).await?;
        total += size;
    }
    let meta_path: PathBuf = dst.join(META_FILENAME);
    tokio::fs::write(&meta_path, &meta_bytes)
        .await
        .map_err(|e| Error::io(&meta_path, e))?;
    tracing::info!(block = %id, files = objects.len() + 1, bytes = total, dir = %dst.display(), "downloaded block");
    Ok(meta)
}

async fn download_file(store: &dyn ObjectStore, src: &Path, dst: &FsPath) -> Result<()> {
    if let Some(parent) = dst.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| Error::io(parent, e))?;
    }
    let mut stream = store.get(src).await?.into_stream();
    let mut f = tokio::fs::File::create(dst)
        .await
        .map_err(|e| Error::io(dst, e))?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        f.write_all(&chunk).await.map_err(|e| Error::io(dst, e))?;
    }
    f.flush().await.map_err(|e| Error::io(dst, e))?;
    f.sync_all().await.map_err(|e| Error::io(dst, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use strata_tsdb::meta::ThanosMeta;

    use super::*;
    use crate::InstrumentedStore;

    fn block_dir(parent: &FsPath, id: Ulid, thanos: Option<ThanosMeta>, chunk: usize) -> PathBuf {
        let dir = parent.join(id.to_string());
        std::fs::create_dir_all(dir.join(CHUNKS_DIRNAME)).unwrap();
        std::fs::write(dir.join("chunks/000001"), vec![7u8; chunk]).unwrap();
        std::fs::write(dir.join(INDEX_FILENAME), b"index").unwrap();
        let mut meta = BlockMeta::new_level1(id, 0, 1000);
        meta.thanos = thanos;
        meta.write_to_dir(&dir).unwrap();
        dir
    }

    fn labeled() -> Option<ThanosMeta> {
        Some(ThanosMeta {
            labels: BTreeMap::from([("replica".to_string(), "a".to_string())]),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn upload_rejects_bad_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let store = InMemory::new();
        let id = Ulid::generate();
        let e = |r: Result<BlockMeta>| r.unwrap_err().to_string();

        let dir = block_dir(tmp.path(), id, None, 10);
        let msg = e(upload_block(&store, &dir).await);
        assert!(
            msg.contains("meta.json has no `thanos` section; external labels are required"),
            "{msg}"
        );

        let empty = Some(ThanosMeta::default());
        let dir = block_dir(tmp.path(), Ulid::generate(), empty, 10);
        let msg = e(upload_block(&store, &dir).await);
        assert!(msg.contains("meta.json has empty thanos.labels"), "{msg}");

        let dir = tmp.path().join("not-a-ulid");
        std::fs::create_dir_all(&dir).unwrap();
        let msg = e(upload_block(&store, &dir).await);
        assert!(
            msg.contains("directory name \"not-a-ulid\" is not a ulid"),
            "{msg}"
        );

        let other = Ulid::generate();
        let dir = block_dir(tmp.path(), other, labeled(), 10);
        let renamed = tmp.path().join(Ulid::generate().to_string());
        std::fs::rename(&dir, &renamed).unwrap();
        let msg = e(upload_block(&store, &renamed).await);
        assert!(
            msg.contains(&format!("meta.json has ulid {other} but the directory is")),
            "{msg}"
        );

        let id2 = Ulid::generate();
        let dir = block_dir(tmp.path(), id2, labeled(), 10);
        std::fs::remove_file(dir.join(INDEX_FILENAME)).unwrap();
        let msg = e(upload_block(&store, &dir).await);
        assert!(
            msg.starts_with("invalid block directory") && msg.contains("reading index"),
            "{msg}"
        );

        let id3 = Ulid::generate();
        let dir = tmp.path().join(id3.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let msg = e(upload_block(&store, &dir).await);
        assert!(msg.contains("reading meta.json"), "{msg}");

        assert!(
            crate::block::list_block_ids(&store)
                .await
                .unwrap()
                .is_empty(),
            "nothing uploaded by failed attempts"
        );
    }

    #[tokio::test]
    async fn large_files_go_up_in_parts_and_meta_last() {
        let tmp = tempfile::tempdir().unwrap();
        let id = Ulid::generate();
        let size = 11 * 1024 * 1024 + 3;
        let dir = block_dir(tmp.path(), id, labeled(), size);
        let inst = InstrumentedStore::new(Arc::new(InMemory::new()));
        let opts = UploadOptions {
            part_size: 1, // clamped to the 5 MiB S3 minimum
            part_concurrency: 2,
        };
        let meta = upload_block_with(&inst, &dir, &opts).await.unwrap();
        let snap = inst.stats().snapshot();
        assert_eq!(snap.put_part, 3, "11 MiB in 5 MiB parts");
        assert_eq!(snap.put, 3, "multipart chunk, index, meta.json");
        let t = meta.thanos.unwrap();
        assert_eq!(t.segment_files, vec!["000001".to_string()]);
        assert_eq!(t.files[0].size_bytes, Some(size as u64));
        let got = inst
            .get(&block_path(id, "chunks/000001"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.len(), size);
        assert!(got.iter().all(|b| *b == 7));
    }
}
