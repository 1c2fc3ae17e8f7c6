/**
 * The table of user mistakes and the exact diagnostic each must produce (file:line:col,
 * message, hint). Every YAML here is small and complete so the positions can be checked
 * by eye.
 */
import type { LoadOptions } from '../../src/dag/pipeline-types.js';

export const dollar = (text: string): string => text.replaceAll('%{', '$' + '{');

export interface ErrorCase {
  name: string;
  yaml: string;
  opts?: LoadOptions;
  expected: string[];
}

/** Joins lines. In this table `%{` stands for `${` (in YAML and messages alike), so it needs no escaping. */
const y = (...lines: string[]): string => dollar(`${lines.join('\n')}\n`);

/** A valid two-stage head the cases append to: data (fetch) and train (foreach regime x fold). */
const head = [
  'version: 1',
  'params:',
  '  seed: 0',
  '  folds: 2',
  '  regimes:',
  '    normal: { learning_rate: 0.1, epochs: 3 }',
  '    overfitting: { learning_rate: 0.5, epochs: 3 }',
  '  attacks:',
  '    pgd: { eps: 0.3 }',
  'profiles:',
  '  paper:',
  '    params: { folds: 5 }',
  'stages:',
  '  data:',
  '    kind: fetch',
  '    params: { dataset: mini }',
  '  split:',
  '    kind: split',
  '    inputs: { data: data }',
];

export const errorCases: ErrorCase[] = [
  // runtime
  {
    name: 'unknown runtime key',
    yaml: y('version: 1', 'runtime: { backnd: wasm }', 'stages: {}'),
    expected: [
      "pipeline.yaml:2:12: runtime: unknown key 'backnd'; expected one of backend, executor, slurm, retries, retry_on, retry_backoff (did you mean 'backend'?)",
    ],
  },
  {
    name: 'unknown executor',
    yaml: y('version: 1', 'runtime: { executor: slurmm }', 'stages: {}'),
    expected: [
      'pipeline.yaml:2:22: runtime.executor: wrong form; expected where stages run: local or slurm (run --executor overrides it), got "slurmm"',
    ],
  },
  {
    name: 'misspelt slurm setting',
    yaml: y('version: 1', 'runtime:', '  slurm: { partiton: gpu }', 'stages: {}'),
    expected: [
      "pipeline.yaml:3:12: runtime.slurm: unknown key 'partiton'; expected one of partition, account, time, cpus, mem, gpus, options, poll_interval, kinds (did you mean 'partition'?)",
    ],
  },
  {
    name: 'slurm time limit not in Slurm syntax',
    yaml: y(
      'version: 1',
      'runtime:',
      '  slurm: { kinds: { command: { time: 2h } } }',
      'stages: {}',
    ),
    expected: [
      'pipeline.yaml:3:38: runtime.slurm.kinds.command.time: wrong form; expected a Slurm time limit: minutes, "H:MM:SS" or "D-HH:MM:SS", got "2h"',
    ],
  },
  {
    name: 'slurm setting interpolated to the wrong type',
    yaml: y(
      'version: 1',
      'params: { gpus: two }',
      'runtime:',
      '  slurm: { gpus: "%{gpus}" }',
      'stages: {}',
    ),
    expected: [
      'pipeline.yaml:4:18: runtime.slurm.gpus: wrong type; expected an integer, got "two"',
    ],
  },
  {
    name: 'slurm settings for a kind that does not exist',
    yaml: y('version: 1', 'runtime:', '  slurm: { kinds: { trian: { time: 60 } } }', 'stages: {}'),
    expected: [
      "pipeline.yaml:3:21: runtime.slurm.kinds: unknown stage kind 'trian'; expected one of fetch, split, train, select, aggregate, command (did you mean 'train'?)",
    ],
  },
  {
    name: 'a retry cause that does not exist',
    yaml: y(
      'version: 1',
      'runtime: { retries: 2 }',
      'stages:',
      '  a: { kind: command, cmd: "true", retry_on: [signal, exits] }',
    ),
    expected: [
      'pipeline.yaml:4:55: stages.a.retry_on[1]: must be one of "exit", "signal", "node-failure", "preempted", "timeout", "out-of-memory"; got "exits"',
    ],
  },
  {
    name: 'runtime names a missing param',
    yaml: y(
      'version: 1',
      'params: { backend: auto }',
      'runtime: { backend: "%{backends}" }',
      'stages: {}',
    ),
    expected: [
      "pipeline.yaml:3:22: unknown name 'backends' in %{backends}; expected a foreach key or a top-level param (did you mean 'backend'?)",
    ],
  },
  // YAML syntax
  {
    name: 'unclosed flow mapping',
    yaml: y('version: 1', 'stages: { a: { kind: fetch }'),
    expected: [
      'pipeline.yaml:3:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ],
  },
  {
    name: 'tab indentation',
    yaml: y('version: 1', 'stages:', '\tdata: {}'),
    expected: ['pipeline.yaml:3:1: invalid YAML: Tabs are not allowed as indentation'],
  },
  {
    name: 'duplicate key',
    yaml: y(...head, '  data:', '    kind: fetch'),
    expected: ['pipeline.yaml:20:3: invalid YAML: Map keys must be unique'],
  },
  {
    name: 'bad alias',
    yaml: y('version: 1', 'stages: *nothing'),
    expected: [
      'pipeline.yaml:2:9: invalid YAML: unknown alias *nothing; expected an anchor &nothing before it',
    ],
  },
  {
    name: 'infinite number',
    yaml: y('version: 1', 'params: { eps: .inf }', 'stages: {}'),
    expected: [
      'pipeline.yaml:2:16: .inf is not a finite number; expected a finite number (or quote it to make it a string)',
    ],
  },
  // document shape
  {
    name: 'document is a list',
    yaml: y('- version: 1'),
    expected: ['pipeline.yaml:1:1: document: wrong type; expected a mapping, got a list'],
  },
  {
    name: 'empty document',
    yaml: y('# nothing here'),
    expected: ['pipeline.yaml:1:1: document: wrong type; expected a mapping, got null'],
  },
  {
    name: 'missing version',
    yaml: y('stages: {}'),
    expected: ["pipeline.yaml:1:1: document: missing required key 'version'"],
  },
  {
    name: 'wrong version',
    yaml: y('version: 2', 'stages: {}'),
    expected: ['pipeline.yaml:1:10: version: must be 1; got 2'],
  },
  {
    name: 'unknown top-level key',
    yaml: y('version: 1', 'stage: {}'),
    expected: [
      "pipeline.yaml:1:1: document: missing required key 'stages'",
      "pipeline.yaml:2:1: document: unknown key 'stage'; expected one of version, name, params, profiles, runtime, stages (did you mean 'stages'?)",
    ],
  },
  {
    name: 'stages is a list',
    yaml: y('version: 1', 'stages:', '  - data'),
    expected: ['pipeline.yaml:3:3: stages: wrong type; expected a mapping, got a list'],
  },
  {
    name: 'name is a number',
    yaml: y('version: 1', 'name: 3', 'stages: {}'),
    expected: ['pipeline.yaml:2:7: name: wrong type; expected a string, got 3'],
  },
  {
    name: 'invalid stage name',
    yaml: y('version: 1', 'stages:', '  2data: { kind: fetch }'),
    expected: [
      "pipeline.yaml:3:3: stages: invalid name '2data'; expected letters, digits, '_' and '-', starting with a letter or '_'",
    ],
  },
  {
    name: 'profile with params at the wrong level',
    yaml: y('version: 1', 'profiles:', '  paper: { folds: 5 }', 'stages: {}'),
    expected: ["pipeline.yaml:3:12: profiles.paper: unknown key 'folds'; expected one of params"],
  },
  // stage shape
  {
    name: 'misspelt stage key',
    yaml: y(...head, '  train:', '    kidn: train'),
    expected: [
      "pipeline.yaml:20:3: stages.train: missing required key 'kind'",
      "pipeline.yaml:21:5: stages.train: unknown key 'kidn'; expected one of kind, params, inputs, foreach, deps, cmd, outs, env, tools, retries, retry_on, priority (did you mean 'kind'?)",
    ],
  },
  {
    name: 'stage without kind',
    yaml: y(...head, '  train:', '    params: { epochs: 1 }'),
    expected: ["pipeline.yaml:20:3: stages.train: missing required key 'kind'"],
  },
  {
    name: 'kind is a number',
    yaml: y(...head, '  train:', '    kind: 3'),
    expected: ['pipeline.yaml:21:11: stages.train.kind: wrong type; expected a string, got 3'],
  },
  {
    name: 'deps is a string',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    deps: notes.txt'),
    expected: [
      'pipeline.yaml:23:11: stages.shout.deps: wrong type; expected a list, got "notes.txt"',
    ],
  },
  {
    name: 'deps item is a number',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    deps: [notes.txt, 7]'),
    expected: ['pipeline.yaml:23:23: stages.shout.deps[1]: wrong type; expected a string, got 7'],
  },
  {
    name: 'input ref is a number',
    yaml: y(...head, '  sel:', '    kind: select', '    inputs: { history: 3 }'),
    expected: [
      'pipeline.yaml:22:24: stages.sel.inputs.history: wrong type; expected a string, got 3',
    ],
  },
  {
    name: 'env value is a list',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    env: { A: [1] }'),
    expected: [
      'pipeline.yaml:23:15: stages.shout.env.A: wrong type; expected a string, got a list',
    ],
  },
  {
    name: 'params is a number',
    yaml: y(...head, '  train:', '    kind: train', '    params: 5'),
    expected: [
      'pipeline.yaml:22:13: stages.train.params: wrong form; expected a mapping or a whole-value %{...}, got 5',
    ],
  },
  // kinds
  {
    name: 'unknown kind',
    yaml: y(...head, '  train:', '    kind: trian'),
    expected: [
      "pipeline.yaml:21:11: stages.train.kind: unknown kind 'trian'; expected one of aggregate, command, fetch, select, split, train (did you mean 'train'?)",
    ],
  },
  {
    name: 'cmd on a non-command kind',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    cmd: echo hi',
      '    params: { epochs: 1 }',
      '    inputs: { data: data, split: split }',
    ),
    expected: [
      "pipeline.yaml:22:5: stages.train.cmd: only kind 'command' has 'cmd'; this stage is kind 'train'",
    ],
  },
  {
    name: 'tools on a non-command kind',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    tools: [python3 --version]',
      '    params: { epochs: 1 }',
      '    inputs: { data: data, split: split }',
    ),
    expected: [
      "pipeline.yaml:22:5: stages.train.tools: only kind 'command' has 'tools'; this stage is kind 'train'",
    ],
  },
  {
    name: 'tools is a string',
    yaml: y(
      ...head,
      '  shout:',
      '    kind: command',
      '    cmd: echo',
      '    tools: python3 --version',
    ),
    expected: [
      'pipeline.yaml:23:12: stages.shout.tools: wrong type; expected a list, got "python3 --version"',
    ],
  },
  {
    name: 'command without cmd',
    yaml: y(...head, '  shout:', '    kind: command', '    outs: [a.txt]'),
    expected: [
      "pipeline.yaml:20:3: stages.shout: missing required key 'cmd'; kind 'command' runs a shell command",
    ],
  },
  {
    name: 'command with params',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    params: { a: 1 }'),
    expected: [
      "pipeline.yaml:23:5: stages.shout.params: kind 'command' takes no params; expected cmd, outs, env and tools (use %{...} inside them)",
    ],
  },
  {
    name: 'absolute dep',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    deps: [/etc/passwd]'),
    expected: [
      "pipeline.yaml:23:12: stages.shout.deps[0]: '/etc/passwd' leaves the workspace; expected a relative path without '..'",
    ],
  },
  {
    name: 'dep outside the workspace',
    yaml: y(
      ...head,
      '  shout:',
      '    kind: command',
      '    cmd: echo',
      '    deps: [src/../../secret]',
    ),
    expected: [
      "pipeline.yaml:23:12: stages.shout.deps[0]: 'src/../../secret' leaves the workspace; expected a relative path without '..'",
    ],
  },
  {
    name: 'out outside the output directory',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    outs: [../x.txt]'),
    expected: [
      "pipeline.yaml:23:12: stages.shout.outs[0]: '../x.txt' leaves the output directory; expected a relative path without '..'",
    ],
  },
  // kind params
  {
    name: 'misspelt param',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: { epoch: 1 }',
    ),
    expected: [
      "pipeline.yaml:23:5: params of stage 'train': missing required key 'epochs'",
      "pipeline.yaml:23:15: params of stage 'train': unknown key 'epoch'; expected one of learning_rate, epochs (did you mean 'epochs'?)",
    ],
  },
  {
    name: 'param of the wrong type',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: many }',
    ),
    expected: [
      'pipeline.yaml:23:23: params.epochs of stage \'train\': wrong type; expected an integer, got "many"',
    ],
  },
  {
    name: 'param below its minimum',
    yaml: y(
      'version: 1',
      'stages:',
      '  data: { kind: fetch, params: { dataset: d } }',
      '  split:',
      '    kind: split',
      '    inputs: { data: data }',
      '    params: { folds: 0 }',
    ),
    expected: ["pipeline.yaml:7:22: params.folds of stage 'split': must be >= 1; got 0"],
  },
  {
    name: 'param error reported once per foreach group',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: 3 } }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1, momentum: 0.9 }',
    ),
    expected: [
      "pipeline.yaml:24:26: params of stage 'train[0]': unknown key 'momentum'; expected one of learning_rate, epochs",
    ],
  },
  {
    name: 'whole-value params resolve to a number',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: %{seed}',
    ),
    expected: ["pipeline.yaml:23:13: stage 'train': params resolve to 0; expected a mapping"],
  },
  // interpolation
  {
    name: 'unknown name',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: "%{fodls}" } }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1 }',
    ),
    expected: [
      "pipeline.yaml:22:32: unknown name 'fodls' in %{fodls}; expected a foreach key or a top-level param (did you mean 'folds'?)",
    ],
  },
  {
    name: 'unknown nested key',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: %{regimes.norml}',
    ),
    expected: [
      "pipeline.yaml:23:13: no key 'norml' in regimes (in %{regimes.norml}); expected one of normal, overfitting (did you mean 'normal'?)",
    ],
  },
  {
    name: 'unknown name inside a longer string',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: 2 } }',
      '    inputs: { data: data, split: "split:fold-%{fold}-%{sed}.json" }',
      '    params: { epochs: 1 }',
    ),
    expected: [
      "pipeline.yaml:23:54: unknown name 'sed' in %{sed}; expected a foreach key or a top-level param (did you mean 'seed'?)",
    ],
  },
  {
    name: 'unterminated interpolation',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: "%{folds" }',
    ),
    expected: ["pipeline.yaml:23:24: unterminated %{ in '%{folds'; expected }"],
  },
  {
    name: 'invalid reference syntax',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: "%{folds + 1}" }',
    ),
    expected: [
      'pipeline.yaml:23:24: invalid reference %{folds + 1}; expected NAME, NAME.KEY or NAME[OTHER_NAME]',
    ],
  },
  {
    name: 'bracket name is not a key',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: %{regimes[attacks]}',
    ),
    expected: [
      'pipeline.yaml:23:13: attacks in %{regimes[attacks]} is a mapping; expected a string or number to use as a key',
    ],
  },
  {
    name: 'key into a number',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: "%{seed.x}" }',
    ),
    expected: ["pipeline.yaml:23:24: no key 'x' in seed (in %{seed.x}); seed is 0, not a mapping"],
  },
  {
    name: 'whole-value dep that is not a string',
    yaml: y(...head, '  shout:', '    kind: command', '    cmd: echo', '    deps: ["%{regimes}"]'),
    expected: [
      "pipeline.yaml:23:12: stages.shout.deps[0] of stage 'shout': resolves to a mapping; expected a string",
    ],
  },
  // foreach
  {
    name: 'foreach of a number',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { fold: 3 }'),
    expected: [
      'pipeline.yaml:22:22: stages.train.foreach.fold: wrong form; expected a list, { range: N }, { keys: OBJECT } or a whole-value %{...}, got 3',
    ],
  },
  {
    name: 'range that is not an integer',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { fold: { range: 2.5 } }'),
    expected: [
      'pipeline.yaml:22:31: stages.train.foreach.fold.range: wrong type; expected an integer or a string, got 2.5',
    ],
  },
  {
    name: 'range with an extra key',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { fold: { range: 2, step: 1 } }'),
    expected: [
      "pipeline.yaml:22:34: stages.train.foreach.fold: unknown key 'step'; expected one of range",
    ],
  },
  {
    name: 'foreach key with a dash',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { the-fold: [1] }'),
    expected: [
      "pipeline.yaml:22:16: stages.train.foreach: invalid name 'the-fold'; expected letters, digits and '_', starting with a letter or '_'",
    ],
  },
  {
    name: 'empty foreach',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: {}'),
    expected: ['pipeline.yaml:22:14: stages.train.foreach: must not be empty'],
  },
  {
    name: 'negative range',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { fold: { range: -1 } }'),
    expected: [
      'pipeline.yaml:22:31: stages.train.foreach.fold: range must be a non-negative integer; got -1',
    ],
  },
  {
    name: 'range of zero',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { fold: { range: 0 } }'),
    expected: ['pipeline.yaml:22:22: stages.train.foreach.fold: no values; expected at least one'],
  },
  {
    name: 'keys of a number',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { regime: { keys: "%{seed}" } }'),
    expected: ['pipeline.yaml:22:32: stages.train.foreach.regime: keys must name a mapping; got 0'],
  },
  {
    name: 'range of a string param',
    yaml: y(
      'version: 1',
      'params: { n: many }',
      'stages:',
      '  data:',
      '    kind: fetch',
      '    params: { dataset: d }',
      '    foreach: { i: { range: "%{n}" } }',
    ),
    expected: [
      'pipeline.yaml:7:28: stages.data.foreach.i: range must be a non-negative integer; got "many"',
    ],
  },
  {
    name: 'duplicate foreach values',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { regime: [normal, normal] }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1 }',
    ),
    expected: [
      "pipeline.yaml:22:14: stages.train.foreach: duplicate stage id 'train[normal]'; expected distinct foreach values",
    ],
  },
  {
    name: 'foreach value that breaks ids',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { regime: [normal, "a,b"] }'),
    expected: [
      "pipeline.yaml:22:33: stages.train.foreach.regime: value \"a,b\" cannot be part of a stage id; expected a number, true/false, or a non-empty string without ',', '[', ']', '*' or spaces",
    ],
  },
  {
    name: 'foreach list of mappings',
    yaml: y(...head, '  train:', '    kind: train', '    foreach: { regime: [{ a: 1 }] }'),
    expected: [
      "pipeline.yaml:22:25: stages.train.foreach.regime: value {\"a\":1} cannot be part of a stage id; expected a number, true/false, or a non-empty string without ',', '[', ']', '*' or spaces",
    ],
  },
  // inputs
  {
    name: 'unknown input stage',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: dta, split: split }',
      '    params: { epochs: 1 }',
    ),
    expected: [
      "pipeline.yaml:22:21: input 'data' of stage 'train': unknown stage 'dta'; expected the name of a stage in this pipeline (did you mean 'data'?)",
    ],
  },
  {
    name: 'foreach group used as one stage',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: 2 } }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1 }',
      '  sel:',
      '    kind: select',
      '    inputs: { history: train }',
    ),
    expected: [
      "pipeline.yaml:27:24: input 'history' of stage 'sel': 'train' is a foreach group; expected one id such as 'train[0]' or a pattern such as 'train[*]'",
    ],
  },
  {
    name: 'no stage matches the id',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: 2 } }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1 }',
      '  sel:',
      '    kind: select',
      '    inputs: { history: "train[7]:history.json" }',
    ),
    expected: [
      "pipeline.yaml:27:25: input 'history' of stage 'sel': no stage matches 'train[7]'; expected one of train[0], train[1] (did you mean 'train[0]'?)",
    ],
  },
  {
    name: 'wrong number of bracket values',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: 2 } }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1 }',
      '  sel:',
      '    kind: select',
      '    inputs: { history: "train[0,1]" }',
    ),
    expected: [
      "pipeline.yaml:27:25: input 'history' of stage 'sel': 'train[0,1]' has 2 bracket value(s); stage 'train' has 1 foreach key(s)",
    ],
  },
  {
    name: 'pattern into a single input',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    foreach: { fold: { range: 2 } }',
      '    inputs: { data: data, split: split }',
      '    params: { epochs: 1 }',
      '  sel:',
      '    kind: select',
      '    inputs: { history: "train[*]" }',
    ),
    expected: [
      "pipeline.yaml:27:25: input 'history' of stage 'sel': 'train[*]' is a pattern but kind 'select' takes one stage there; expected a single stage id",
    ],
  },
  {
    name: 'unreadable ref',
    yaml: y(...head, '  sel:', '    kind: select', '    inputs: { history: "data[0" }'),
    expected: [
      "pipeline.yaml:22:25: input 'history' of stage 'sel': cannot read 'data[0'; expected stage-id, stage-id:path or a pattern such as train[normal,*]",
    ],
  },
  {
    name: 'unknown input name',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { dat: data, split: split }',
      '    params: { epochs: 1 }',
    ),
    expected: [
      "pipeline.yaml:20:3: stages.train: missing input 'data' required by kind 'train'",
      "pipeline.yaml:22:15: stages.train.inputs: unknown input 'dat' for kind 'train'; expected one of data, split, init (did you mean 'data'?)",
    ],
  },
  {
    name: 'missing required input',
    yaml: y(
      ...head,
      '  train:',
      '    kind: train',
      '    inputs: { data: data }',
      '    params: { epochs: 1 }',
    ),
    expected: ["pipeline.yaml:20:3: stages.train: missing input 'split' required by kind 'train'"],
  },
  {
    name: 'cycle of two',
    yaml: y(
      'version: 1',
      'stages:',
      '  a:',
      '    kind: select',
      '    inputs: { history: b }',
      '  b:',
      '    kind: select',
      '    inputs: { history: a }',
    ),
    expected: [
      'pipeline.yaml:5:24: dependency cycle: a -> b -> a; a stage cannot read its own output, directly or through others',
    ],
  },
  {
    name: 'stage reading itself',
    yaml: y(
      'version: 1',
      'stages:',
      '  a:',
      '    kind: select',
      '    inputs: { history: "a:x.json" }',
    ),
    expected: [
      'pipeline.yaml:5:25: dependency cycle: a -> a; a stage cannot read its own output, directly or through others',
    ],
  },
  {
    name: 'an input error is reported once per foreach group',
    yaml: y(
      ...head,
      '  sel:',
      '    kind: select',
      '    foreach: { fold: { range: 3 } }',
      '    inputs: { history: "trian[%{fold}]" }',
    ),
    expected: [
      "pipeline.yaml:23:25: input 'history' of stage 'sel[0]': unknown stage 'trian'; expected the name of a stage in this pipeline (and 2 more stages of this group)",
    ],
  },
  {
    name: 'index past the end of a list',
    yaml: y(
      'version: 1',
      'params: { sets: [a] }',
      'stages:',
      '  data: { kind: fetch, params: { dataset: "%{sets.1}" } }',
    ),
    expected: [
      "pipeline.yaml:4:44: no key '1' in sets (in %{sets.1}); expected an index from 0 to 0",
    ],
  },
  // profiles and --set
  {
    name: 'unknown profile',
    yaml: y(...head),
    opts: { profile: 'papr' },
    expected: [
      "--profile:1:1: unknown profile 'papr'; expected one of paper (did you mean 'paper'?)",
    ],
  },
  {
    name: 'profile when none are defined',
    yaml: y('version: 1', 'stages: {}'),
    opts: { profile: 'paper' },
    expected: ["--profile:1:1: unknown profile 'paper'; this pipeline defines no profiles"],
  },
  {
    name: '--set of a misspelt path',
    yaml: y(...head),
    opts: { sets: ['atacks.pgd.eps=0.1'] },
    expected: [
      "--set:1:1: no param 'atacks' in params; expected one of seed, folds, regimes, attacks (--set only changes existing params) (did you mean 'attacks'?)",
    ],
  },
  {
    name: '--set deeper misspelling',
    yaml: y(...head),
    opts: { sets: ['regimes.normal.epocs=3'] },
    expected: [
      "--set:1:16: no param 'epocs' in params.regimes.normal; expected one of learning_rate, epochs (--set only changes existing params) (did you mean 'epochs'?)",
    ],
  },
  {
    name: '--set may not add a key',
    yaml: y(...head),
    opts: { sets: ['attacks.pgd.new=1'] },
    expected: [
      "--set:1:13: no param 'new' in params.attacks.pgd; expected one of eps (--set only changes existing params)",
    ],
  },
  {
    name: '--set without =',
    yaml: y(...head),
    opts: { sets: ['seed'] },
    expected: ["--set:1:1: expected PATH=VALUE, e.g. attacks.pgd.eps=0.1; got 'seed'"],
  },
  {
    name: '--set with an empty segment',
    yaml: y(...head),
    opts: { sets: ['regimes..epochs=1'] },
    expected: ["--set:1:9: empty name in 'regimes..epochs'; expected PATH=VALUE"],
  },
  {
    name: '--set with a bad value',
    yaml: y(...head),
    opts: { sets: ['seed=1', 'attacks.pgd.eps=[0.1,'] },
    expected: [
      '--set:2:22: invalid value: Flow sequence must end with a ]; expected a YAML scalar or flow collection',
    ],
  },
  {
    name: '--set without a value',
    yaml: y(...head),
    opts: { sets: ['seed='] },
    expected: ['--set:1:6: missing value after =; expected PATH=VALUE'],
  },
  {
    name: '--set of a non-finite number',
    yaml: y(...head),
    opts: { sets: ['attacks.pgd.eps=[1, .nan]'] },
    expected: [
      "--set:1:17: value '[1, .nan]' holds .inf or .nan; expected finite numbers (quote them to make strings)",
    ],
  },
  {
    name: '--set into a scalar',
    yaml: y(...head),
    opts: { sets: ['seed.x=1'] },
    expected: ["--set:1:6: no param 'x' in params.seed; params.seed is 0, not a mapping"],
  },
];
