//! Encoder and head shapes, parameter counts and PyTorch-compatible names.

use contrast_autodiff::Graph;
use contrast_nn::Module;
use contrast_nn::encoders::{
    ConvStage, Mlp, MlpConfig, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig, StridedCnn,
    StridedCnnConfig,
};
use contrast_nn::heads::ProjectionHead;
use contrast_nn::optim::ParamKind;
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn out_shape<M: Module<f32>>(g: &mut Graph<f32>, m: &mut M, input: &[usize]) -> Vec<usize> {
    let x = g.input(ArrayD::from_elem(IxDyn(input), 0.5));
    let y = m.forward(g, x).unwrap();
    let s = g.value(y).shape().to_vec();
    g.reset();
    s
}

fn shapes(g: &Graph<f32>, m: &dyn Module<f32>) -> Vec<(String, Vec<usize>)> {
    m.named_params()
        .into_iter()
        .map(|p| (p.name, g.value(p.var).shape().to_vec()))
        .collect()
}

#[test]
fn benchmark_cnn_matches_the_torch_model() {
    // scripts/peer_step.py: Conv2d(1,32,3,p=1)-ReLU-MaxPool2d(2)-Conv2d(32,64,3,p=1)-ReLU-MaxPool2d(2)-Flatten-Linear(3136,128)
    let mut g = Graph::new();
    let mut cnn = SmallCnn::new(
        &mut g,
        &SmallCnnConfig::mnist(),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let want: Vec<(String, Vec<usize>)> = [
        ("net.0.weight", vec![32, 1, 3, 3]),
        ("net.0.bias", vec![32]),
        ("net.3.weight", vec![64, 32, 3, 3]),
        ("net.3.bias", vec![64]),
        ("net.7.weight", vec![128, 3136]),
        ("net.7.bias", vec![128]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(shapes(&g, &cnn), want);
    // 32*9 + 32 + 64*32*9 + 64 + 3136*128 + 128
    assert_eq!(cnn.num_params(&g), 420_352);
    assert_eq!(out_shape(&mut g, &mut cnn, &[2, 1, 28, 28]), [2, 128]);
    let mut cifar = SmallCnn::new(
        &mut g,
        &SmallCnnConfig {
            in_channels: 3,
            image_side: 32,
            batch_norm: true,
            out_dim: None,
            channels: vec![8, 16],
        },
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    assert_eq!(cifar.out_features(), 16 * 8 * 8);
    assert_eq!(out_shape(&mut g, &mut cifar, &[2, 3, 32, 32]), [2, 1024]);
}

#[test]
fn strided_cnn_matches_the_frame_stack_network() {
    // PyTorch: Conv2d(2,32,5,stride=2)-ReLU-Conv2d(32,64,3,stride=2)-ReLU-Flatten-Linear(7168,64)
    let mut g = Graph::new();
    let config = StridedCnnConfig::frame_stack(2, 40, 64);
    assert_eq!(config.last_map(), Some((64, 8, 14)));
    let mut cnn = StridedCnn::new(&mut g, &config, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let want: Vec<(String, Vec<usize>)> = [
        ("net.0.weight", vec![32, 2, 5, 5]),
        ("net.0.bias", vec![32]),
        ("net.2.weight", vec![64, 32, 3, 3]),
        ("net.2.bias", vec![64]),
        ("net.5.weight", vec![64, 7168]),
        ("net.5.bias", vec![64]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(shapes(&g, &cnn), want);
    // 32*2*25 + 32 + 64*32*9 + 64 + 7168*64 + 64
    assert_eq!(cnn.num_params(&g), 478_944);
    assert_eq!(out_shape(&mut g, &mut cnn, &[3, 2, 40, 64]), [3, 64]);
    assert!(cnn.named_buffers().is_empty(), "no batch norm");

    // Another size is refused with the expected shape in the message.
    let x = g.input(ArrayD::zeros(IxDyn(&[1, 2, 64, 40])));
    let e = cnn.forward(&mut g, x).unwrap_err().to_string();
    assert!(e.contains("(N, 2, 40, 64)"), "{e}");
    g.reset();

    // Too small for the kernels, or a zero stride: configuration errors.
    let tiny = StridedCnnConfig::frame_stack(2, 6, 64);
    assert_eq!(tiny.last_map(), None);
    assert!(StridedCnn::<f32>::new(&mut g, &tiny, &mut ChaCha8Rng::seed_from_u64(0)).is_err());
    let mut zero = StridedCnnConfig::frame_stack(2, 40, 64);
    zero.stages[1] = ConvStage {
        channels: 8,
        kernel: 3,
        stride: 0,
    };
    assert!(StridedCnn::<f32>::new(&mut g, &zero, &mut ChaCha8Rng::seed_from_u64(0)).is_err());
}

#[test]
fn mlp_encoder_and_heads() {
    let mut g = Graph::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut mlp = Mlp::new(&mut g, &MlpConfig::relu(&[784, 512, 512]), &mut rng).unwrap();
    let names: Vec<String> = mlp.named_params().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.2.weight",
            "layers.2.bias"
        ]
    );
    // Images are flattened.
    assert_eq!(out_shape(&mut g, &mut mlp, &[3, 1, 28, 28]), [3, 512]);
    assert!(Mlp::<f32>::new(&mut g, &MlpConfig::relu(&[4]), &mut rng).is_err());

    let mut head = ProjectionHead::simclr(&mut g, 512, 2048, 128, &mut rng).unwrap();
    let s = shapes(&g, &head);
    let names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.1.weight",
            "layers.1.bias",
            "layers.3.weight",
            "layers.3.bias"
        ]
    );
    let kinds: Vec<ParamKind> = head.named_params().iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ParamKind::Weight,
            ParamKind::Norm,
            ParamKind::Norm,
            ParamKind::Weight,
            ParamKind::Bias
        ]
    );
    assert_eq!(out_shape(&mut g, &mut head, &[4, 512]), [4, 128]);
    let buffers: Vec<String> = head.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(buffers, ["layers.1.running_mean", "layers.1.running_var"]);

    let mut pred = ProjectionHead::byol_predictor(&mut g, 32, 64, &mut rng).unwrap();
    assert_eq!(pred.out_features(), 32);
    assert_eq!(out_shape(&mut g, &mut pred, &[4, 32]), [4, 32]);
}

#[test]
fn resnet18_has_torchvision_names_and_size() {
    let mut g = Graph::<f32>::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let net = ResNet::new(&mut g, &ResNetConfig::resnet18(1.0), &mut rng).unwrap();
    // torchvision resnet18 has 11,689,512 params; the CIFAR stem (3x3 conv instead of 7x7)
    // has 64*3*(49-9) = 7,680 fewer, and without fc (512*1000 + 1000) that is 11,168,832.
    assert_eq!(net.num_params(&g), 11_168_832);
    assert_eq!(net.out_features(), 512);
    let s = shapes(&g, &net);
    for (name, shape) in [
        ("conv1.weight", vec![64, 3, 3, 3]),
        ("bn1.weight", vec![64]),
        ("layer1.0.conv1.weight", vec![64, 64, 3, 3]),
        ("layer2.0.downsample.0.weight", vec![128, 64, 1, 1]),
        ("layer2.0.downsample.1.bias", vec![128]),
        ("layer4.1.bn2.weight", vec![512]),
    ] {
        assert!(
            s.contains(&(name.to_string(), shape.clone())),
            "missing {name} {shape:?}"
        );
    }
    assert!(!s.iter().any(|(n, _)| n.starts_with("layer1.0.downsample")));
    assert_eq!(net.named_buffers().len(), 2 * 20);

    let mut small = ResNet::new(&mut g, &ResNetConfig::resnet18(0.125), &mut rng).unwrap();
    assert_eq!(small.out_features(), 64);
    assert_eq!(out_shape(&mut g, &mut small, &[2, 3, 32, 32]), [2, 64]);
    small.set_training(false);
    assert_eq!(out_shape(&mut g, &mut small, &[1, 3, 32, 32]), [1, 64]);
    assert!(ResNet::<f32>::new(&mut g, &ResNetConfig::resnet18(0.0), &mut rng).is_err());
}
