//! The `.npy` format (NumPy 1.0) for the embeddings a run writes: `numpy.load` reads them.
//!
//! Layout: the magic `\x93NUMPY`, version `1 0`, a little-endian u16 header length, an ASCII
//! Python dict `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }` padded with spaces
//! and a newline so that the data starts on a 64-byte boundary, then the row-major data.

use ndarray::ArrayView2;

/// Encodes a 2-D f32 matrix as `.npy` bytes (little-endian, C order).
pub fn encode_f32(x: ArrayView2<f32>) -> Vec<u8> {
    let (n, d) = x.dim();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {d}), }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * n * d);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in x.iter() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn header_is_aligned_and_data_round_trips() {
        let x = array![[1.0f32, -2.5, 3.0], [0.0, 4.0, 1e-3]];
        let bytes = encode_f32(x.view());
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(
            header.contains("'shape': (2, 3)") && header.ends_with('\n'),
            "{header}"
        );
        let data: Vec<f32> = bytes[10 + header_len..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(data, x.iter().copied().collect::<Vec<_>>());
    }

    #[test]
    fn transposed_views_are_written_in_logical_order() {
        let x = array![[1.0f32, 2.0], [3.0, 4.0]];
        let t = encode_f32(x.t());
        let tail: Vec<f32> = t[t.len() - 16..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(tail, vec![1.0, 3.0, 2.0, 4.0]);
    }
}
