//! The dense NT-Xent over batches spanning several 64-row tiles (with a partial one):
//! bit-identical for any thread count, equal to the tiled evaluation and to SupCon, and
//! its f32 result (vectorised exponential) close to the f64 one.

use contrast_losses::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn batch(rows: usize, dim: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, dim), |_| rng.random_range(-1.0..1.0))
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

fn max_rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1.0))
        .fold(0.0, f64::max)
}

#[test]
fn dense_is_bit_identical_for_any_thread_count() {
    for (rows, t) in [(150, 0.5), (256, 0.07)] {
        let z = batch(rows, 9, rows as u64);
        let z32 = z.mapv(|x| x as f32);
        let cfg = NtXentConfig::new(t).evaluation(Evaluation::Dense);
        let one = in_pool(1, || nt_xent(z.view(), &cfg).unwrap());
        let one32 = in_pool(1, || nt_xent(z32.view(), &cfg).unwrap());
        for threads in [2, 3, 7] {
            assert_eq!(in_pool(threads, || nt_xent(z.view(), &cfg).unwrap()), one);
            assert_eq!(
                in_pool(threads, || nt_xent(z32.view(), &cfg).unwrap()),
                one32
            );
        }
    }
}

#[test]
fn dense_over_many_tiles_equals_tiled_and_supcon() {
    for (rows, t, normalize) in [(150, 0.5, true), (194, 0.05, true), (130, 0.3, false)] {
        let z = batch(rows, 7, 3 + rows as u64);
        let cfg = NtXentConfig::new(t).normalize(normalize);
        let dense = nt_xent(z.view(), &cfg.evaluation(Evaluation::Dense)).unwrap();
        let tile = TileSize { rows: 48, cols: 80 };
        let tiled = nt_xent(z.view(), &cfg.evaluation(Evaluation::Tiled(tile))).unwrap();
        let labels: Vec<usize> = (0..rows).map(|i| i % (rows / 2)).collect();
        let sup: LossGrad<f64> = supcon(
            z.view(),
            &labels,
            &SupConConfig::new(t).normalize(normalize),
        )
        .unwrap()
        .into();
        for (name, other) in [("tiled", &tiled), ("supcon", &sup)] {
            let loss_err = (dense.loss - other.loss).abs() / other.loss.abs().max(1.0);
            assert!(loss_err < 1e-12, "{rows} rows vs {name}: loss {loss_err:e}");
            let grad_err = max_rel(&dense.grad, &other.grad);
            assert!(grad_err < 1e-12, "{rows} rows vs {name}: grad {grad_err:e}");
        }
        // f32: the polynomial exp and f32 products, against the f64 result.
        let d32 = nt_xent(
            z.mapv(|x| x as f32).view(),
            &cfg.evaluation(Evaluation::Dense),
        )
        .unwrap();
        let loss_err = (f64::from(d32.loss) - dense.loss).abs() / dense.loss.abs().max(1.0);
        assert!(loss_err < 2e-6, "{rows} rows f32: loss {loss_err:e}");
        let grad_err = max_rel(&d32.grad.mapv(f64::from), &dense.grad);
        assert!(grad_err < 1e-6, "{rows} rows f32: grad {grad_err:e}");
    }
}
