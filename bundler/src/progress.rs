//! How long steps tell their progress, without this library drawing anything: the binary
//! implements [`Reporter`] with progress bars, tests and quiet runs use [`Silent`].

/// Receives the progress of the step that is running. Implementations must be cheap: `advance`
/// is called for every buffer copied.
pub trait Reporter: Sync {
    /// A step starts; `total_bytes` is known for copies, exports of unknown size give `None`.
    fn start(&self, number: usize, count: usize, description: &str, total_bytes: Option<u64>);

    /// `bytes` more bytes of the running step are done.
    fn advance(&self, bytes: u64);

    /// The running step has finished.
    fn finish(&self);
}

/// A reporter that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn start(&self, _: usize, _: usize, _: &str, _: Option<u64>) {}

    fn advance(&self, _: u64) {}

    fn finish(&self) {}
}

/// Copies `reader` into `writer` in large blocks, telling `reporter` about each block.
pub(crate) fn copy_with_progress(
    reader: &mut dyn std::io::Read,
    writer: &mut dyn std::io::Write,
    reporter: &dyn Reporter,
) -> std::io::Result<u64> {
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    loop {
        let count = match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        writer.write_all(&buffer[..count])?;
        total += count as u64;
        reporter.advance(count as u64);
    }
}
