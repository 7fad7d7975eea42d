//! Times mining on graphs written by `benches/dump_graphs.py`: `FILE` holds the
//! graph count, then per graph `n, m` (i64), ops i32[n], sources and targets i64[m];
//! `FILE.names` lists the op names, labelled as the glue labels them (`hash::op_label`).
//! `cargo run --release -p archmotif-core --example profile_mine -- FILE [REPS]`;
//! threads from RAYON_NUM_THREADS.
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use archmotif_core::control::Control;
use archmotif_core::mine::{mine, Strategy};
use archmotif_core::motif::Params;
use archmotif_core::order::canonical_ranks;
use archmotif_core::Dag;

fn read<T: Copy + Default>(b: &[u8], at: &mut usize, n: usize) -> Vec<T> {
    let sz = std::mem::size_of::<T>();
    assert!(*at + n * sz <= b.len(), "truncated file");
    let mut v = vec![T::default(); n];
    // SAFETY: bounds checked above; T is a plain number type.
    unsafe {
        std::ptr::copy_nonoverlapping(b[*at..].as_ptr(), v.as_mut_ptr() as *mut u8, n * sz);
    }
    *at += n * sz;
    v
}

fn graph(bytes: &[u8], at: &mut usize, n: usize, m: usize, k: usize) -> Dag {
    let ops: Vec<i32> = read(bytes, at, n);
    let src: Vec<i64> = read(bytes, at, m);
    let dst: Vec<i64> = read(bytes, at, m);
    Dag::validate(k, &ops, &src, &dst)
        .expect("a valid graph")
        .dag
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bytes = std::fs::read(&args[0]).expect("the graphs file");
    let names = std::fs::read_to_string(format!("{}.names", args[0])).expect("FILE.names");
    let labels: Vec<u64> = names.lines().map(archmotif_core::hash::op_label).collect();
    let reps: usize = args.get(1).map_or(3, |s| s.parse().expect("a count"));
    let mut at = 0;
    let count: Vec<i64> = read(&bytes, &mut at, 1);
    let tv = Instant::now();
    let dags: Vec<Dag> = (0..count[0])
        .map(|_| {
            let s: Vec<i64> = read(&bytes, &mut at, 2);
            graph(&bytes, &mut at, s[0] as usize, s[1] as usize, labels.len())
        })
        .collect();
    // reading the file is in this figure too (a plain copy of its arrays)
    println!("read + validate {:.3} s", tv.elapsed().as_secs_f64());
    let hwm = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(|l| l.to_string())
            })
            .unwrap_or_default()
    };
    println!("after validate {}", hwm());
    let refs: Vec<&Dag> = dags.iter().collect();
    let ctl = Control::new();
    let params = Params {
        min_count: 2,
        min_support: 1,
        max_motif_nodes: 32,
        max_levels: 8,
    };
    let n = dags.iter().map(|d| d.num_nodes()).sum::<usize>() as f64;
    for _ in 0..reps {
        let t = Instant::now();
        let mut sum = 0u64;
        let skip = std::env::var_os("SKIP_ORDER").is_some();
        for d in refs.iter().filter(|_| !skip) {
            let r = canonical_ranks(d, &labels, &ctl).unwrap();
            sum = r.iter().fold(sum, |h, &x| {
                h.wrapping_mul(0x100000001b3).wrapping_add(x as u64)
            });
        }
        let to = t.elapsed().as_secs_f64();
        if std::env::var_os("ORDER_ONLY").is_some() {
            println!("order (serial) {to:.3} s ranks {sum:016x}");
            continue;
        }
        let t = Instant::now();
        let (mined, _) = mine(Strategy::Merge, &refs, &labels, params, &ctl).unwrap();
        let tm = t.elapsed().as_secs_f64();
        println!("after mine {}", hwm());
        let macros: usize = mined.macros.iter().map(|m| m.motif_ids.len()).sum();
        // a digest of what was mined, to check a change keeps results
        let mix = |h: u64, x: u64| (h ^ x).wrapping_mul(0x100000001b3);
        let mut digest = mined
            .vocabulary
            .iter()
            .fold(0u64, |h, m| mix(mix(h, m.id as u64), m.count));
        for m in &mined.macros {
            digest = m.motif_ids.iter().fold(digest, |h, &id| mix(h, id as u64));
            digest = m
                .node_to_macro
                .iter()
                .fold(digest, |h, &x| mix(h, x as u64));
        }
        println!(
            "order (serial) {to:.3} s ({:.2} M/s)  mine {tm:.3} s ({:.2} M/s)  motifs {} macro nodes {macros} mined {digest:016x} ranks {sum:016x}",
            n / to / 1e6,
            n / tm / 1e6,
            mined.vocabulary.len(),
        );
    }
}
