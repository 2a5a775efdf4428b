//! Vectors stored as int8: a unit vector's components scaled by its largest magnitude
//! into -127..=127, followed by that scale (f32) so a row is self-contained.
//!
//! A row of dimension 384 is 388 bytes instead of 1,536 as f32, about a quarter, so
//! the vector index of a large vault stays small and is read through a memory map
//! (BENCHMARKS.md, "Scale"). Queries stay in f32 and are scored against the stored codes
//! (`q · s·c`), so only the stored side is rounded; the graph is built with int8-by-int8
//! products. Every quality figure (BENCHMARKS.md, "Ranking quality") is of these rows.

/// Bytes of the scale at the end of a row.
pub const SCALE_BYTES: usize = 4;

/// Bytes of a row of `dim` components.
pub fn row_len(dim: usize) -> usize {
    dim + SCALE_BYTES
}

/// Appends the row of `v` to `out`.
pub fn quantize_into(v: &[f32], out: &mut Vec<u8>) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    out.extend(
        v.iter()
            .map(|x| (x * inv).round().clamp(-127.0, 127.0) as i8 as u8),
    );
    out.extend_from_slice(&scale.to_le_bytes());
}

/// The scale of a row.
pub fn scale(row: &[u8]) -> f32 {
    let s = &row[row.len() - SCALE_BYTES..];
    f32::from_le_bytes([s[0], s[1], s[2], s[3]])
}

fn codes(row: &[u8]) -> &[u8] {
    &row[..row.len() - SCALE_BYTES]
}

/// `q · v` for an f32 query and a stored row (eight running sums, so it vectorizes).
pub fn dot_query(q: &[f32], row: &[u8]) -> f32 {
    let c = codes(row);
    let (qs, cs) = (q.chunks_exact(8), c.chunks_exact(8));
    let tail: f32 = qs
        .remainder()
        .iter()
        .zip(cs.remainder())
        .map(|(x, &y)| x * f32::from(y as i8))
        .sum();
    let mut lanes = [0f32; 8];
    for (x, y) in qs.zip(cs) {
        for i in 0..8 {
            lanes[i] += x[i] * f32::from(y[i] as i8);
        }
    }
    (lanes.iter().sum::<f32>() + tail) * scale(row)
}

/// Starts loading `row` into the cache without waiting for it (a hint: no effect on
/// results, and none at all off x86-64).
#[inline]
pub fn prefetch(row: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in row.chunks(64) {
        // SAFETY: a prefetch never faults and reads nothing the program sees; the address
        // is inside `row` anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// `a · b` for two stored rows, summed exactly in integers.
pub fn dot_rows(a: &[u8], b: &[u8]) -> f32 {
    let (ca, cb) = (codes(a), codes(b));
    let mut sum = 0i32;
    for (x, y) in ca.iter().zip(cb) {
        sum += i32::from(*x as i8) * i32::from(*y as i8);
    }
    sum as f32 * scale(a) * scale(b)
}

/// The f32 vector a row stands for.
pub fn dequantize(row: &[u8]) -> Vec<f32> {
    let s = scale(row);
    codes(row).iter().map(|&c| f32::from(c as i8) * s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn rows_keep_dot_products_close() {
        let a = unit(
            &(0..384)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect::<Vec<_>>(),
        );
        let b = unit(
            &(0..384)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 5.0 + a[i] * 20.0)
                .collect::<Vec<_>>(),
        );
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        quantize_into(&a, &mut ra);
        quantize_into(&b, &mut rb);
        assert_eq!(ra.len(), row_len(384));
        assert!(
            (dot_query(&a, &rb) - exact).abs() < 0.005,
            "{} vs {exact}",
            dot_query(&a, &rb)
        );
        assert!(
            (dot_rows(&ra, &rb) - exact).abs() < 0.01,
            "{} vs {exact}",
            dot_rows(&ra, &rb)
        );
        let back = dequantize(&ra);
        assert!(back.iter().zip(&a).all(|(x, y)| (x - y).abs() < 0.01));
        let mut zero = Vec::new();
        quantize_into(&[0.0; 8], &mut zero);
        assert_eq!(dot_query(&[1.0; 8], &zero), 0.0);
    }
}
