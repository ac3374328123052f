//! COPY reading a file as it arrives: the object's body is decompressed and cut into chunks
//! that end on a record boundary (on a thread of its own, one chunk ahead), each chunk
//! converted (in parallel pieces where records never span lines) and handed on, so that
//! memory holds a few chunks, not the file.
use super::{last_record_end, pieces, Compression, Encoding, Format, Piece, Reader};
use crate::error::{SqlError, SqlResult};
use std::io::Read;
use std::sync::mpsc::SyncSender;

/// Whole records read from a body, and the header lines dropped before them.
struct Chunk {
    text: Vec<u8>,
    skipped_lines: i64,
}

/// Text read per chunk.
const CHUNK: usize = 8 << 20;

impl Reader<'_> {
    /// Whether this COPY's files can be read as a stream of chunks (delimited, fixed-width
    /// and CSV text in UTF-8); the others are read whole.
    pub fn streamable(&self) -> bool {
        matches!(self.spec.format, Format::Text { .. } | Format::FixedWidth(_) | Format::Csv { .. })
            && !self.spec.remove_quotes
            && self.spec.encoding == Encoding::Utf8
    }

    /// Reads a file from `input`, giving each converted piece to `emit` in order; `emit`
    /// answers false to stop reading (too many errors). The number of lines read. The body
    /// is read (and decompressed) on a thread of its own, a chunk ahead of the conversion.
    pub fn read_stream(
        &self,
        input: Box<dyn Read + Send>,
        mut emit: impl FnMut(Piece) -> SqlResult<bool>,
    ) -> SqlResult<i64> {
        std::thread::scope(|scope| {
            let (chunks, received) = std::sync::mpsc::sync_channel::<SqlResult<Chunk>>(1);
            scope.spawn(move || {
                if let Err(e) = self.cut_chunks(input, &chunks) {
                    let _ = chunks.send(Err(e));
                }
            });
            let mut line = 1i64;
            for chunk in received {
                let chunk = chunk?;
                line += chunk.skipped_lines;
                let text = self.valid_utf8(chunk.text)?;
                let (lines, go_on) = self.read_chunk(&text, line, &mut emit)?;
                line += lines;
                if !go_on {
                    // Dropping the receiver stops the reading thread at its next chunk.
                    break;
                }
            }
            Ok(line - 1)
        })
    }

    /// Reads the body into chunks of whole records, header lines dropped, and sends them on
    /// until the body ends or the receiver is gone.
    fn cut_chunks(&self, input: Box<dyn Read + Send>, chunks: &SyncSender<SqlResult<Chunk>>) -> SqlResult<()> {
        let bad = |e: std::io::Error| SqlError::new("XX000", format!("Failed to read {}: {e}", self.file));
        let mut input: Box<dyn Read + Send> = match self.spec.compression {
            Compression::None => input,
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(input))),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(std::io::BufReader::new(input))),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input).map_err(bad)?),
        };
        // Decompressed bytes count as loaded (the compressed ones were counted as they came).
        if let (Some(p), false) = (&self.progress, self.spec.compression == Compression::None) {
            input = Box::new(super::Counted { inner: input, counter: p.clone(), compressed: false });
        }
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + (1 << 20));
        let mut headers_left = self.spec.ignore_header;
        let mut skipped_lines = 0i64;
        let mut eof = false;
        while !eof {
            // Fill the buffer up to a chunk (after what the last chunk left over), without
            // zeroing it first.
            let want = if buf.len() < CHUNK { CHUNK - buf.len() } else { CHUNK };
            let n = input.by_ref().take(want as u64).read_to_end(&mut buf).map_err(bad)?;
            eof = n < want;
            // Header lines are dropped before any record is read.
            while headers_left > 0 {
                match memchr::memchr(b'\n', &buf) {
                    Some(p) => {
                        buf.drain(..=p);
                        headers_left -= 1;
                        skipped_lines += 1;
                    }
                    None if eof => {
                        buf.clear();
                        headers_left = 0;
                    }
                    None => break,
                }
            }
            if headers_left > 0 {
                continue;
            }
            let cut = if eof { buf.len() } else { self.record_end(&buf).unwrap_or(0) };
            if cut == 0 && !eof {
                if buf.len() > 4 * CHUNK {
                    return Err(SqlError::new(
                        "XX000",
                        format!("Load into table failed: a record of {} is longer than {} bytes", self.file, 4 * CHUNK),
                    ));
                }
                // One record longer than a chunk: read on until it ends.
                continue;
            }
            let mut rest = Vec::with_capacity(CHUNK + (1 << 20));
            rest.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
            let text = std::mem::replace(&mut buf, rest);
            if chunks.send(Ok(Chunk { text, skipped_lines: std::mem::take(&mut skipped_lines) })).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Converts one chunk of whole records starting on line `first_line`: the lines it held,
    /// and whether to read on.
    fn read_chunk(
        &self,
        text: &[u8],
        first_line: i64,
        emit: &mut impl FnMut(Piece) -> SqlResult<bool>,
    ) -> SqlResult<(i64, bool)> {
        let quote = match self.spec.format {
            Format::Csv { quote, .. } if quote.is_ascii() => Some(Some(quote as u8)),
            Format::Text { .. } | Format::FixedWidth(_) if !self.spec.escape => Some(None),
            _ => None,
        };
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let parts = match quote {
            Some(quote) => pieces(text, text.len().div_ceil(threads).max(1), quote),
            None => vec![(0, text.len(), 1)],
        };
        let results = self.read_pieces(text, &parts, first_line);
        let mut lines = 0;
        for r in results {
            let piece = r?;
            lines += piece.2;
            if !emit(piece)? {
                return Ok((lines, false));
            }
        }
        Ok((lines, true))
    }

    /// Where the last whole record of `buf` ends (after its newline): a newline that is not
    /// inside a quoted CSV field, nor escaped by a backslash under ESCAPE.
    fn record_end(&self, buf: &[u8]) -> Option<usize> {
        match &self.spec.format {
            Format::Csv { quote, .. } => last_record_end(buf, Some(*quote as u8)),
            _ if self.spec.escape => {
                let mut i = buf.len();
                while let Some(p) = memchr::memrchr(b'\n', &buf[..i]) {
                    let backslashes = buf[..p].iter().rev().take_while(|b| **b == b'\\').count();
                    if backslashes % 2 == 0 {
                        return Some(p + 1);
                    }
                    i = p;
                }
                None
            }
            _ => last_record_end(buf, None),
        }
    }
}
