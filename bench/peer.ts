/**
 * The peer shape (the paper's DAG with trivial shell commands) for advrob-dag and Snakemake,
 * scaled by the number of folds F: 2 + 2 + 4F + 4F + 12F + 12F + 4 + 1 jobs (F=7: 233,
 * F=312: 9,993). The same generators as ../shared/bench/peer/gen_pipeline.py and
 * gen_snakefile.py, carried here so a fresh clone can run `npm run bench` without them.
 */

export const peerStages = (folds: number): number => 2 + 2 + 32 * folds + 4 + 1;

/** The pipeline.yaml: same DAG, same shell commands as `peerSnakefile`. */
export function peerPipeline(folds: number): string {
  return `version: 1
name: peer-shape
params:
  ds: [cifar10, stl10]
  regimes: { normal: { lr: 1.0e-5 }, overfit: { lr: 0.0024 } }
  at: [fgsm, pgd, cw]
  folds: ${folds}
stages:
  fetch:
    kind: command
    foreach: { ds: "\${ds}" }
    cmd: echo \${ds} > data.bin
    outs: [data.bin]
  split:
    kind: command
    foreach: { ds: "\${ds}" }
    inputs: { d: "fetch[\${ds}]:data.bin" }
    cmd: cat "$IN_D" > split.txt; echo split >> split.txt
    outs: [split.txt]
  train:
    kind: command
    foreach: { ds: "\${ds}", rg: { keys: "\${regimes}" }, fo: { range: "\${folds}" } }
    inputs: { s: "split[\${ds}]:split.txt" }
    cmd: cat "$IN_S" > t.txt; echo \${regimes[rg].lr} \${fo} >> t.txt
    outs: [t.txt]
  select:
    kind: command
    foreach: { ds: "\${ds}", rg: { keys: "\${regimes}" }, fo: { range: "\${folds}" } }
    inputs: { t: "train[\${ds},\${rg},\${fo}]:t.txt" }
    cmd: cat "$IN_T" > s.txt
    outs: [s.txt]
  attack:
    kind: command
    foreach: { ds: "\${ds}", rg: { keys: "\${regimes}" }, fo: { range: "\${folds}" }, at: "\${at}" }
    inputs: { s: "select[\${ds},\${rg},\${fo}]:s.txt" }
    cmd: cat "$IN_S" > a.txt; echo \${at} >> a.txt
    outs: [a.txt]
  evaluate:
    kind: command
    foreach: { ds: "\${ds}", rg: { keys: "\${regimes}" }, fo: { range: "\${folds}" }, at: "\${at}" }
    inputs: { a: "attack[\${ds},\${rg},\${fo},\${at}]:a.txt", t: "train[\${ds},\${rg},\${fo}]:t.txt" }
    cmd: cat "$IN_A" "$IN_T" > e.txt
    outs: [e.txt]
  aggregate:
    kind: command
    foreach: { ds: "\${ds}", rg: { keys: "\${regimes}" } }
    inputs: { e: "evaluate[\${ds},\${rg},*,*]:e.txt" }
    cmd: cat $IN_E > agg.txt
    outs: [agg.txt]
  report:
    kind: command
    inputs: { g: "aggregate[*,*]:agg.txt" }
    cmd: cat $IN_G > report.txt
    outs: [report.txt]
`;
}

/** The Snakefile for Snakemake 7.21 (Debian package `snakemake`). */
export function peerSnakefile(folds: number): string {
  return `DS = ["cifar10", "stl10"]; RG = ["normal", "overfit"]; AT = ["fgsm", "pgd", "cw"]; FO = list(range(${folds}))
rule all:
    input: "report.txt"
rule fetch:
    output: "data/{ds}.bin"
    shell: "echo {wildcards.ds} > {output}"
rule split:
    input: "data/{ds}.bin"
    output: "split/{ds}.txt"
    shell: "cat {input} > {output}; echo split >> {output}"
rule train:
    input: "split/{ds}.txt"
    output: "train/{ds}/{rg}/{fo}.txt"
    params: lr=lambda w: 1e-5 if w.rg == "normal" else 0.0024
    shell: "cat {input} > {output}; echo {params.lr} {wildcards.fo} >> {output}"
rule select:
    input: "train/{ds}/{rg}/{fo}.txt"
    output: "select/{ds}/{rg}/{fo}.txt"
    shell: "cat {input} > {output}"
rule attack:
    input: "select/{ds}/{rg}/{fo}.txt"
    output: "attack/{ds}/{rg}/{fo}/{at}.txt"
    shell: "cat {input} > {output}; echo {wildcards.at} >> {output}"
rule evaluate:
    input: "attack/{ds}/{rg}/{fo}/{at}.txt", "train/{ds}/{rg}/{fo}.txt"
    output: "eval/{ds}/{rg}/{fo}/{at}.txt"
    shell: "cat {input} > {output}"
rule aggregate:
    input: expand("eval/{{ds}}/{{rg}}/{fo}/{at}.txt", fo=FO, at=AT)
    output: "agg/{ds}/{rg}.txt"
    shell: "cat {input} > {output}"
rule report:
    input: expand("agg/{ds}/{rg}.txt", ds=DS, rg=RG)
    output: "report.txt"
    shell: "cat {input} > {output}"
`;
}
