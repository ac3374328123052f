//! COPY and UNLOAD as statements of a session: logged in STL_QUERY, COPY's rows appended like an INSERT's.
use super::*;
use crate::engine::LoadState;
use crate::state::SegmentWriter;
use std::sync::atomic::Ordering;

impl Session {
    /// UNLOAD: the query runs as any query of this session (its privileges checked), and its
    /// rows are written to S3 as the statement's credentials allow.
    pub(super) async fn unload(&mut self, spec: UnloadSpec) -> SqlResult<Output> {
        let (query, start) = self.start_logged()?;
        let out = self.unload_rows(&spec).await;
        self.end_logged(query, start, &spec.text, out.is_err());
        let rows = out?;
        // pg_last_unload_id() and pg_last_unload_count() report the last UNLOAD that completed.
        self.facts.last_unload.0.store(query, std::sync::atomic::Ordering::Relaxed);
        self.facts.last_unload.1.store(rows as i64, std::sync::atomic::Ordering::Relaxed);
        Ok(Output::Command("UNLOAD".into(), Some(rows)))
    }

    /// A statement run outside `execute` (COPY, UNLOAD) begins: refused in a failed
    /// transaction, else given its query id and start time.
    pub(super) fn start_logged(&mut self) -> SqlResult<(i64, i64)> {
        if self.transaction_failed() {
            return Err(SqlError::aborted());
        }
        Ok((self.new_query_id(), chrono::Utc::now().timestamp_micros()))
    }

    /// A statement ends: a failure aborts the open transaction, and STL_QUERY records it.
    pub(super) fn end_logged(&mut self, query: i64, start_us: i64, text: &str, failed: bool) {
        if let Some(tx) = &mut self.tx {
            tx.failed |= failed;
        }
        self.wh.log_query(QueryRecord {
            query,
            pid: self.pid,
            user: self.user.clone(),
            text: text.to_string(),
            start_us,
            end_us: chrono::Utc::now().timestamp_micros(),
            aborted: failed,
            label: self.setting("query_group").unwrap_or_else(|| "default".into()),
        });
    }

    pub(super) async fn unload_rows(&mut self, spec: &UnloadSpec) -> SqlResult<usize> {
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        let mut parsed = self.parse(&spec.query)?;
        let statement = match (parsed.pop(), parsed.is_empty()) {
            (Some(Parsed { statement: Statement::Query(q), .. }), true) => q,
            _ => return Err(SqlError::new("42601", "UNLOAD takes one SELECT statement")),
        };
        let df = self.query(*statement).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        let external = self
            .wh
            .external()
            .ok_or_else(|| SqlError::unsupported("UNLOAD to S3 needs the warehouse to run in a cluster"))?;
        let store = external.open(&spec.credentials, spec.region.as_deref(), &self.user).await?;
        crate::unload::write(spec, &*store, schema, batches).await?;
        Ok(rows)
    }

    /// COPY, recorded in STL_QUERY like any statement; its failure aborts a transaction.
    pub(super) async fn copy(&mut self, spec: CopySpec) -> SqlResult<Output> {
        let (query, start) = self.start_logged()?;
        let out = self.copy_rows(&spec, query).await;
        self.end_logged(query, start, &spec.text, out.is_err());
        let rows = out?;
        self.last_copy.0.store(query, std::sync::atomic::Ordering::Relaxed);
        self.last_copy.1.store(rows as i64, std::sync::atomic::Ordering::Relaxed);
        Ok(Output::Command("COPY".into(), Some(rows)))
    }

    /// Reads the files, converts their rows, and appends them in one commit (or to the open
    /// transaction); nothing is appended when more rows fail than MAXERROR allows.
    pub(super) async fn copy_rows(&mut self, spec: &CopySpec, query: i64) -> SqlResult<usize> {
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        let st = self.view.get();
        let schema = self.schema_of(spec.schema.clone(), &spec.table);
        let meta = st.table(&schema, &spec.table).cloned().ok_or_else(|| SqlError::relation_missing(&spec.table))?;
        privileges::require_table(&st, &self.user, &schema, &spec.table, Privilege::Insert)?;
        materialized::refuse_materialized(&st, &schema, &spec.table)?;
        let targets: Vec<usize> = if spec.columns.is_empty() {
            (0..meta.columns.len()).filter(|i| spec.explicit_ids || meta.columns[*i].identity.is_none()).collect()
        } else {
            let mut t = Vec::new();
            for c in &spec.columns {
                let (i, _) = meta.column(c).ok_or_else(|| {
                    SqlError::new("42703", format!("column \"{c}\" of relation \"{}\" does not exist", spec.table))
                })?;
                t.push(i);
            }
            t
        };
        let columns: Arc<Vec<ColumnMeta>> = Arc::new(targets.iter().map(|i| meta.columns[*i].clone()).collect());
        let external = self
            .wh
            .external()
            .ok_or_else(|| SqlError::unsupported("COPY from S3 needs the warehouse to run in a cluster"))?;
        let store = external.open(&spec.credentials, spec.region.as_deref(), &self.user).await?;
        let files = copy::files(spec, &*store).await?;
        let json_paths = match &spec.format {
            copy::Format::Json(copy::JsonMapping::Paths(url)) | copy::Format::Avro(copy::JsonMapping::Paths(url)) => {
                let (b, k) = copy::s3_url(url)?;
                Some(Arc::new(copy::json_paths(&store.get(&b, &k).await?)?))
            }
            _ => None,
        };
        let spec_arc = Arc::new(spec.clone());
        let mut conformer = Some(self.conformer(meta.clone(), &targets).await?);
        let mut writer = (!spec.no_load).then(|| SegmentWriter::new(meta.clone(), self.wh.disk()));
        let mut results: Vec<FileSummary> = Vec::with_capacity(files.len());
        let mut error_count = 0usize;
        // STV_LOAD_STATE shows this COPY until it ends.
        let compressed = spec.compression != copy::Compression::None;
        let load = self.wh.start_load(LoadState {
            query,
            pid: self.pid,
            user: self.user.clone(),
            num_files: files.len() as i64,
            bytes_to_load: files.iter().map(|f| f.2 as i64).sum(),
            compressed,
            ..Default::default()
        });
        let progress = load.state.clone();
        for (bucket, key, _) in files {
            let file = format!("s3://{bucket}/{key}");
            *progress.current_file.lock().unwrap_or_else(|e| e.into_inner()) = file.clone();
            let probe = copy::Reader { spec, columns: &columns, file: &file, json_paths: None, progress: None };
            // Text formats stream from the object; the others are read whole.
            let body = if probe.streamable() {
                let input = store.open(&bucket, &key).await?;
                Body::Stream(Box::new(copy::Counted { inner: input, counter: progress.clone(), compressed }))
            } else {
                let bytes = store.get(&bucket, &key).await?;
                let counter = if compressed { &progress.bytes_loaded_compressed } else { &progress.bytes_loaded };
                counter.fetch_add(bytes.len() as i64, Ordering::Relaxed);
                Body::Whole(bytes)
            };
            let (spec_in, columns, paths) = (spec_arc.clone(), columns.clone(), json_paths.clone());
            let counter = progress.clone();
            let mut w = writer.take();
            let mut c = conformer.take().expect("conformer");
            // NOLOAD converts the rows and writes none.
            let loads = w.is_some();
            let errors_before = error_count;
            let (w, c, summary) = tokio::task::spawn_blocking(move || -> SqlResult<_> {
                let spec = spec_in;
                let reader = copy::Reader {
                    spec: &spec,
                    columns: &columns,
                    file: &file,
                    json_paths: paths.as_deref().map(|p| &p[..]),
                    progress: Some(counter.clone()),
                };
                let mut summary = FileSummary { file: file.clone(), lines: 0, errors: Vec::new(), error_count: 0 };
                std::thread::scope(|scope| {
                    // Rows are conformed and written to segments on a thread of their own
                    // while the next pieces are read and converted.
                    let (rows, received) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
                    let writing = scope.spawn(move || -> SqlResult<_> {
                        for b in received {
                            if let (Some(b), Some(w)) = (c.conform(b)?, w.as_mut()) {
                                w.push(b)?;
                            }
                        }
                        Ok((w, c))
                    });
                    let mut emit = |(batch, errors, lines): copy::Piece| -> SqlResult<bool> {
                        counter.lines.fetch_add(lines, Ordering::Relaxed);
                        summary.error_count += errors.len();
                        // Redshift reports the errors up to MAXERROR + 1, where it stops.
                        let room = (spec.max_error + 1).saturating_sub(summary.errors.len());
                        summary.errors.extend(errors.into_iter().take(room));
                        if let (Some(b), true) = (batch, loads) {
                            // A writer that stopped has failed: its error is the answer.
                            if rows.send(b).is_err() {
                                return Ok(false);
                            }
                        }
                        Ok(errors_before + summary.error_count <= spec.max_error)
                    };
                    let read = match body {
                        Body::Stream(input) => reader.read_stream(input, &mut emit),
                        Body::Whole(bytes) => reader.read_file(bytes).and_then(|r| {
                            emit((r.batch, r.errors, r.lines))?;
                            Ok(r.lines)
                        }),
                    };
                    // The writer ends once the rows' sender is gone.
                    drop(rows);
                    let (w, c) = writing.join().map_err(|_| SqlError::internal("COPY writer failed"))??;
                    summary.lines = read?;
                    Ok((w, c, summary))
                })
            })
            .await
            .map_err(SqlError::internal)??;
            writer = w;
            conformer = Some(c);
            progress.files_complete.fetch_add(1, Ordering::Relaxed);
            error_count += summary.error_count;
            results.push(summary);
            if error_count > spec.max_error {
                break;
            }
        }
        let now = chrono::Utc::now().timestamp_micros();
        // Redshift stops at the first error past MAXERROR: that many are reported.
        let mut row_errors: Vec<&copy::RowError> = results.iter().flat_map(|r| r.errors.iter()).collect();
        row_errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        row_errors.truncate(spec.max_error + 1);
        let errors: Vec<LoadError> = row_errors
            .into_iter()
            .map(|e| LoadError {
                query,
                pid: self.pid,
                user: self.user.clone(),
                table_id: meta.id,
                time_us: now,
                filename: e.file.clone(),
                line_number: e.line,
                colname: e.column.clone(),
                coltype: e.column_type.clone(),
                col_length: e.column_length.clone(),
                position: e.position,
                raw_line: e.raw_line.clone(),
                raw_field_value: e.raw_value.clone(),
                err_code: e.code,
                err_reason: e.reason.clone(),
            })
            .collect();
        let commits = |committed: bool| -> Vec<LoadCommit> {
            results
                .iter()
                .map(|r| LoadCommit {
                    query,
                    user: self.user.clone(),
                    filename: r.file.clone(),
                    lines_scanned: r.lines,
                    errors: r.error_count as i64,
                    time_us: now,
                    committed,
                })
                .collect()
        };
        if errors.len() > spec.max_error {
            let first = errors[0].clone();
            self.wh.log_load(errors, commits(false));
            return Err(SqlError::new(
                "XX000",
                format!("Load into table '{}' failed.  Check 'stl_load_errors' system table for details.", spec.table),
            )
            .with_detail(format!(
                "error:  Load into table '{}' failed.  Check 'stl_load_errors' system table for details.\ncode:      {}\ncontext:   {}\nquery:     {query}\nlocation:  {}:{}",
                spec.table, first.err_code, first.err_reason, first.filename, first.line_number
            )));
        }
        if spec.no_load {
            // NOLOAD checks the files and loads nothing.
            self.wh.log_load(errors, commits(false));
            return Ok(0);
        }
        let (written, staged) = match writer {
            Some(w) => tokio::task::spawn_blocking(move || w.finish()).await.map_err(SqlError::internal)??,
            None => (Vec::new(), Default::default()),
        };
        let rows: usize = written.iter().map(|(_, n)| n).sum();
        let table = spec.table.clone();
        let add = |work: &mut DbState| {
            work.append_files(meta.id, written);
            if let (Some(m), Some(c)) = (work.table_mut(&schema, &table), conformer) {
                c.record(m);
            }
        };
        if let Some(tx) = self.tx.as_mut() {
            add(&mut tx.state);
            tx.dirty.insert(meta.id);
            tx.staged.push(staged);
            self.view.set(Arc::new(tx.state.clone()));
        } else {
            let wh = self.wh.clone();
            let _one = wh.commit_lock.lock().await;
            let mut work = (*wh.committed()).clone();
            if work.table(&schema, &table).map(|t| t.id) != Some(meta.id) {
                return Err(SqlError::relation_missing(&table));
            }
            add(&mut work);
            wh.commit(work, &HashSet::from([meta.id])).await?;
            drop(staged);
            self.view.set(wh.committed());
        }
        self.wh.log_load(errors, commits(true));
        Ok(rows)
    }
}

/// An object's body for COPY: streamed where the format allows, else whole.
enum Body {
    Stream(Box<dyn std::io::Read + Send>),
    Whole(Vec<u8>),
}

/// What COPY read of one file: for STL_LOAD_COMMITS and STL_LOAD_ERRORS.
struct FileSummary {
    file: String,
    lines: i64,
    /// The first errors (up to MAXERROR + 1).
    errors: Vec<copy::RowError>,
    error_count: usize,
}
