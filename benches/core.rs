//! Criterion benches of the core kernels: canonical hashing, the canonical node
//! order (half of mining a lone big graph), mining, contraction. `cargo bench -p archmotif-core` (Python harness: throughput.py).

use std::hint::black_box;

use archmotif_core::canon::canonical_form;
use archmotif_core::contract::contract;
use archmotif_core::control::Control;
use archmotif_core::hash::op_label;
use archmotif_core::mine::{Miner, Params};
use archmotif_core::order::canonical_ranks;
use archmotif_core::Dag;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A ResNet-like chain: input, then bottleneck blocks (10 ops) with residuals.
fn resnet_like(n: usize) -> Dag {
    let block = [0, 1, 2, 0, 1, 2, 0, 1, 3, 2]; // conv bn relu conv bn relu conv bn add relu
    let mut ops = vec![4i32];
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    let mut prev = 0i64;
    while ops.len() < n {
        let start = ops.len() as i64;
        for (i, &op) in block.iter().enumerate() {
            if ops.len() >= n {
                break;
            }
            ops.push(op);
            let v = start + i as i64;
            src.push(if i == 0 { prev } else { v - 1 });
            dst.push(v);
            if i == 8 {
                src.push(prev);
                dst.push(v);
            }
        }
        prev = ops.len() as i64 - 1;
    }
    Dag::validate(5, &ops, &src, &dst).expect("valid").dag
}

fn labels() -> Vec<u64> {
    ["convolution", "batch_norm", "relu", "add", "input"]
        .iter()
        .map(|s| op_label(s))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("canonical_form");
    for &n in &[8u32, 32, 64] {
        // a block-structured motif: chains with skip edges
        let labels: Vec<u64> = (0..n).map(|v| (v % 3) as u64).collect();
        let mut edges: Vec<(u32, u32)> = (0..n - 1).map(|v| (v, v + 1)).collect();
        edges.extend((0..n.saturating_sub(4)).step_by(4).map(|v| (v, v + 4)));
        g.bench_function(format!("{n}_nodes"), |b| {
            b.iter(|| canonical_form(black_box(&labels), black_box(&edges)).unwrap())
        });
    }
    g.finish();

    let dag = resnet_like(100_000);
    let mut g = c.benchmark_group("mine");
    g.throughput(Throughput::Elements(dag.num_nodes() as u64));
    g.sample_size(10);
    for levels in [1usize, 8] {
        g.bench_function(format!("resnet_like_1e5_{levels}_levels"), |b| {
            b.iter(|| {
                let mut m = Miner::new(labels());
                let p = Params {
                    min_count: 2,
                    min_support: 1,
                    max_motif_nodes: 32,
                    max_levels: levels,
                };
                m.mine(&[&dag], p, &Control::new()).unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("order");
    g.throughput(Throughput::Elements(dag.num_nodes() as u64));
    g.sample_size(10);
    g.bench_function("resnet_like_1e5", |b| {
        let ctl = Control::new();
        b.iter(|| canonical_ranks(black_box(&dag), &labels(), &ctl).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("contract");
    g.throughput(Throughput::Elements(dag.num_nodes() as u64));
    g.sample_size(10);
    let part: Vec<i64> = (0..dag.num_nodes() as i64).map(|v| (v + 9) / 10).collect();
    g.bench_function("resnet_like_1e5_by_block", |b| {
        let ctl = Control::new();
        b.iter(|| contract(&dag, &labels(), black_box(&part), &ctl).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
