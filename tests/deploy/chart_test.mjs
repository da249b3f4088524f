// The deploy manifests (deploy/helm/sloop, deploy/kubernetes), checked with the tools that
// tools/install-deploy-tools.sh put in the build tree (helm, kustomize, the kubernetes-models
// validators); nothing is installed at run time.
//
//   node chart_test.mjs CHECK --source DIR --tools BUILD/tools --sloop BIN --kubesim BIN --scratch DIR
//
// CHECK is one of:
//   lint       helm lint --strict passes for the default values and the ingress ones; values the
//              chart must refuse (replicas 2, "*" in clusterRole.apiGroups) fail to render.
//   kustomize  helm template and kustomize build render the same objects for the same settings
//              (the base and the ingress overlay); the labels only helm sets (helm.sh/chart,
//              app.kubernetes.io/managed-by) are left out of the comparison. kubectl kustomize is
//              compared too (kubectl from PATH, or the one the install script built).
//   schema     every rendered object validates against the Kubernetes OpenAPI schemas.
//   rbac       the ClusterRole of the chart and of kustomize equals `sloop -print-rbac`, and
//              against the cluster simulator it grants every kind sloop watches and no served
//              built-in kind that sloop does not watch.
import { spawnSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const check = args[0];
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const source = opt('source');
const tools = opt('tools');
const scratch = opt('scratch');
const helm = path.join(tools, 'bin', 'helm');
const kustomize = path.join(tools, 'bin', 'kustomize');
const nodeDir = path.join(tools, 'deploy-node');
const chart = path.join(source, 'deploy', 'helm', 'sloop');
const kustomizeRoot = path.join(source, 'deploy', 'kubernetes');

for (const [what, file] of [['helm', helm], ['kustomize', kustomize], ['the validators', path.join(nodeDir, 'node_modules')]]) {
  if (!fs.existsSync(file)) {
    console.error(`${what} is missing (${file}): run tools/install-deploy-tools.sh ${path.dirname(tools)} first (make test does)`);
    process.exit(1);
  }
}
const requireFromTools = createRequire(path.join(nodeDir, 'package.json'));
const YAML = requireFromTools('yaml');

let failures = 0;
let passes = 0;
function ok(cond, message) {
  if (cond) {
    passes++;
  } else {
    failures++;
    console.error(`FAIL: ${message}`);
  }
  return cond;
}

function run(cmd, argv, { mayFail = false, env } = {}) {
  // HOME and helm's own directories in the scratch directory: the test leaves nothing behind.
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: {
      ...process.env,
      HOME: scratch,
      HELM_CACHE_HOME: path.join(scratch, 'helm-cache'),
      HELM_CONFIG_HOME: path.join(scratch, 'helm-config'),
      HELM_DATA_HOME: path.join(scratch, 'helm-data'),
      ...env,
    },
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (!mayFail && r.status !== 0) {
    throw new Error(`${path.basename(cmd)} ${argv.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  }
  return r;
}

function parseObjects(text) {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJS();
    })
    .filter((o) => o && typeof o === 'object');
}

// helm template with the release and namespace the kustomize base uses.
function helmTemplate(sets = []) {
  const argv = ['template', 'sloop', chart, '--namespace', 'sloop'];
  for (const s of sets) argv.push('--set', s);
  return parseObjects(run(helm, argv).stdout);
}
function kustomizeBuild(dir) {
  return parseObjects(run(kustomize, ['build', dir]).stdout);
}

const HELM_ONLY_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by'];
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical(value[k]);
    return out;
  }
  return value;
}
function normalise(objects) {
  const out = objects.map((o) => {
    const c = structuredClone(o);
    const labels = c.metadata?.labels;
    if (labels) for (const l of HELM_ONLY_LABELS) delete labels[l];
    return canonical(c);
  });
  const key = (o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  out.sort((a, b) => key(a).localeCompare(key(b)));
  return out;
}
function compareRenderings(what, helmObjects, otherObjects) {
  const a = normalise(helmObjects);
  const b = normalise(otherObjects);
  const names = (l) => l.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
  if (!ok(names(a) === names(b), `${what}: helm renders [${names(a)}], the other [${names(b)}]`)) return;
  for (let i = 0; i < a.length; i++) {
    const x = JSON.stringify(a[i], null, 1);
    const y = JSON.stringify(b[i], null, 1);
    ok(x === y, `${what}: ${a[i].kind}/${a[i].metadata.name} differs:\n--- helm\n${x}\n--- other\n${y}`);
  }
}

// The settings of the kustomize base and of its ingress overlay, as helm values.
const BASE_SETS = ['namespace.create=true'];
const INGRESS_SETS = [...BASE_SETS, 'ingress.enabled=true', 'ingress.path=/sloop', 'ingress.className=nginx'];
const NAMESPACE_SETS = [...BASE_SETS, 'config.watchNamespace=default'];
// A gateway over every cluster's shards in a bucket, as docs/deploy.md installs it.
const GATEWAY_SETS = ['name=sloop-gateway', 'serviceAccountName=sloop-gateway', 'clusterRole.create=false',
  'config.gateway=true', 'config.objectStore=s3://k8s-history/sloop',
  'config.objectStoreEndpoint=https://minio.storage:9000', 'objectStore.credentialsSecret=sloop-s3'];

async function checkLint() {
  for (const sets of [[], INGRESS_SETS, ['persistentVolume.enabled=false', 'clusterRole.apiGroups={cert-manager.io}']]) {
    const argv = ['lint', '--strict', chart];
    for (const s of sets) argv.push('--set', s);
    const r = run(helm, argv, { mayFail: true });
    ok(r.status === 0, `helm lint --strict ${sets.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  }
  // Values the chart must refuse, each with a message that says why.
  for (const [set, says] of [
    ['replicas=2', 'replicas'],
    ['clusterRole.apiGroups={*}', 'apiGroups'],
    ['ingress.path=sloop', 'path'],
    ['config.memoryBudgetMb=4', 'memoryBudgetMb'],
  ]) {
    const r = run(helm, ['template', 'sloop', chart, '--set', set], { mayFail: true });
    ok(r.status !== 0, `helm template --set ${set} rendered; the chart must refuse it`);
    ok(r.stderr.includes(says), `helm template --set ${set}: the error does not name ${says}: ${r.stderr}`);
  }
  // A Sloop values file (its config a JSON string) carries over.
  const sloopValues = path.join(scratch, 'sloop-values.yaml');
  fs.writeFileSync(sloopValues, [
    'image: {repository: example/sloop, tag: "1.0"}',
    'persistentVolume: {size: 20Gi, storageClass: fast}',
    'config: |-',
    '  {"displayContext": "prod", "defaultKind": "Pod", "maxLookBack": 1209600000000000}',
    '',
  ].join('\n'));
  const objs = parseObjects(run(helm, ['template', 'sloop', chart, '-f', sloopValues]).stdout);
  const cm = objs.find((o) => o.kind === 'ConfigMap');
  const cfg = YAML.parse(cm.data['sloop.yaml']);
  ok(cfg.displayContext === 'prod' && cfg.maxLookBack === 1209600000000000 && cfg.storeRoot === '/data',
    `Sloop's JSON config did not carry over: ${cm.data['sloop.yaml']}`);
  const sts = objs.find((o) => o.kind === 'StatefulSet');
  ok(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage === '20Gi', 'persistentVolume.size not used');
  ok(sts.spec.template.spec.containers[0].image === 'example/sloop:1.0', 'image not used');
}

async function checkKustomize() {
  compareRenderings('base (helm template --set namespace.create=true vs kustomize build deploy/kubernetes)',
    helmTemplate(BASE_SETS), kustomizeBuild(kustomizeRoot));
  compareRenderings('ingress overlay (deploy/kubernetes/ingress)',
    helmTemplate(INGRESS_SETS), kustomizeBuild(path.join(kustomizeRoot, 'ingress')));
  compareRenderings('namespace-only overlay (deploy/kubernetes/namespace-only)',
    helmTemplate(NAMESPACE_SETS), kustomizeBuild(path.join(kustomizeRoot, 'namespace-only')));
  // The machine's kubectl, or the one tools/install-deploy-tools.sh built where there was none.
  const onPath = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  const kubectl = onPath || path.join(tools, 'bin', 'kubectl');
  if (!fs.existsSync(kubectl)) {
    throw new Error(`no kubectl on PATH nor at ${kubectl}: run tools/install-deploy-tools.sh BUILD_DIR`);
  }
  compareRenderings('kubectl kustomize deploy/kubernetes', helmTemplate(BASE_SETS),
    parseObjects(run(kubectl, ['kustomize', kustomizeRoot]).stdout));
  // What the defaults promise (docs/deploy.md).
  const objs = helmTemplate(BASE_SETS);
  const sts = objs.find((o) => o.kind === 'StatefulSet');
  const pod = sts.spec.template.spec;
  const c = pod.containers[0];
  ok(sts.spec.replicas === 1, 'one replica');
  ok(pod.securityContext.runAsNonRoot === true && pod.securityContext.runAsUser === 65532 &&
     pod.securityContext.seccompProfile?.type === 'RuntimeDefault', 'pod securityContext');
  ok(c.securityContext.readOnlyRootFilesystem === true && c.securityContext.allowPrivilegeEscalation === false &&
     JSON.stringify(c.securityContext.capabilities.drop) === '["ALL"]', 'container securityContext');
  ok(c.livenessProbe.httpGet.path === '/healthz' && c.readinessProbe.httpGet.path === '/readyz', 'probes');
  ok(c.volumeMounts.some((m) => m.mountPath === '/data'), 'store at /data');
  ok(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage === '10Gi', 'maxDiskMb 8192 + 25% → 10Gi');
  ok(c.resources.requests.memory === '256Mi' && c.resources.limits.memory === '512Mi', 'memory from memoryBudgetMb 128');
  ok(pod.terminationGracePeriodSeconds >= 60, 'grace period long enough to seal');
  const svc = objs.find((o) => o.kind === 'Service');
  ok(svc.spec.ports[0].port === 8080, 'Service on 8080');
  const big = helmTemplate(['config.maxDiskMb=40000', 'config.memoryBudgetMb=512']);
  const bigSts = big.find((o) => o.kind === 'StatefulSet');
  ok(bigSts.spec.volumeClaimTemplates[0].spec.resources.requests.storage === '49Gi', 'sizes follow maxDiskMb');
  ok(bigSts.spec.template.spec.containers[0].resources.limits.memory === '2048Mi', 'limits follow memoryBudgetMb');
  const ing = helmTemplate(INGRESS_SETS);
  ok(YAML.parse(ing.find((o) => o.kind === 'ConfigMap').data['sloop.yaml']).basePath === '/sloop',
    'an ingress on /sloop gives sloop basePath /sloop');
}

async function validator(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const modulePath = path.join(nodeDir, 'node_modules', 'kubernetes-models', group || '', version, `${kind}.js`);
  if (!fs.existsSync(modulePath)) return null;
  const mod = await import(pathToFileURL(modulePath).href);
  return mod[kind];
}

async function checkSchema() {
  const renderings = {
    'helm defaults': helmTemplate([]),
    'helm base settings': helmTemplate(BASE_SETS),
    'helm ingress with tls': helmTemplate([...INGRESS_SETS, 'ingress.tls[0].secretName=sloop-tls', 'ingress.tls[0].hosts[0]=sloop.example.com']),
    'helm without a volume, with CRD groups and resources': helmTemplate(['persistentVolume.enabled=false',
      'clusterRole.apiGroups={cert-manager.io,example.com}', 'resources.requests.cpu=1', 'tolerations[0].operator=Exists']),
    'kustomize base': kustomizeBuild(kustomizeRoot),
    'kustomize ingress overlay': kustomizeBuild(path.join(kustomizeRoot, 'ingress')),
    'helm one namespace': helmTemplate(NAMESPACE_SETS),
    'kustomize namespace-only overlay': kustomizeBuild(path.join(kustomizeRoot, 'namespace-only')),
  };
  for (const [what, objects] of Object.entries(renderings)) {
    ok(objects.length >= 6, `${what}: only ${objects.length} objects rendered`);
    for (const o of objects) {
      const Model = await validator(o.apiVersion, o.kind);
      if (!ok(Model, `${what}: ${o.apiVersion} ${o.kind} has no schema in kubernetes-models (a typo?)`)) continue;
      try {
        new Model(o).validate();
        passes++;
      } catch (e) {
        ok(false, `${what}: ${o.kind}/${o.metadata?.name} does not validate: ${e.message}`);
      }
    }
  }
  // The validator rejects what the API server would: a broken object fails.
  const Model = await validator('apps/v1', 'StatefulSet');
  const broken = structuredClone(renderings['helm defaults'].find((o) => o.kind === 'StatefulSet'));
  broken.spec.replicas = 'one';
  let refused = false;
  try { new Model(broken).validate(); } catch { refused = true; }
  ok(refused, 'a StatefulSet with replicas "one" validated: the validator checks nothing');

  // The gateway release of docs/deploy.md: valid objects, no grant on the cluster (it watches
  // nothing), the bucket's credentials from the Secret, and a configuration sloop accepts.
  const gateway = helmTemplate(GATEWAY_SETS);
  for (const o of gateway) {
    const M = await validator(o.apiVersion, o.kind);
    if (!ok(M, `gateway: ${o.apiVersion} ${o.kind} has no schema`)) continue;
    try {
      new M(o).validate();
      passes++;
    } catch (e) {
      ok(false, `gateway: ${o.kind}/${o.metadata?.name} does not validate: ${e.message}`);
    }
  }
  ok(!gateway.some((o) => /Role/.test(o.kind)), `gateway: a role is rendered: ${gateway.map((o) => o.kind)}`);
  const gwSet = gateway.find((o) => o.kind === 'StatefulSet');
  const gwEnv = JSON.stringify(gwSet?.spec.template.spec.containers[0].envFrom ?? []);
  ok(gwEnv.includes('sloop-s3'), `gateway: the credentials Secret is not in the container's envFrom: ${gwEnv}`);
  const gwFile = path.join(scratch, 'gateway.yaml');
  fs.writeFileSync(gwFile, gateway.find((o) => o.kind === 'ConfigMap').data['sloop.yaml']);
  const gwLoad = run(opt('sloop'), [`-config=${gwFile}`, '-print-rbac'], { mayFail: true });
  ok(gwLoad.status === 0, `sloop refuses the gateway's configuration: ${gwLoad.stderr}`);
  ok(fs.readFileSync(gwFile, 'utf8').includes('gateway: true'), 'gateway: the ConfigMap lacks gateway: true');
}

// "group/resource" of every grant in a role's rules; verbs must be exactly get, list, watch.
function grants(role, what) {
  const out = new Set();
  for (const rule of role.rules) {
    ok(JSON.stringify([...rule.verbs].sort()) === '["get","list","watch"]', `${what}: verbs ${rule.verbs}`);
    for (const g of rule.apiGroups) for (const r of rule.resources) out.add(`${g}/${r}`);
  }
  return out;
}
const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
const show = (s) => [...s].sort().join(' ');

function waitFor(file, re, ms) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      const m = text.match(re);
      if (m) return resolve(m);
      if (Date.now() > until) return reject(new Error(`${path.basename(file)} never showed ${re}:\n${text.slice(-3000)}`));
      setTimeout(poll, 100);
    };
    poll();
  });
}
function start(bin, argv, log, env = {}) {
  const fd = fs.openSync(log, 'w');
  const child = spawn(bin, argv, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  fs.closeSync(fd);
  return child;
}
function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

async function checkRbac() {
  const sloop = opt('sloop');
  const kubesim = opt('kubesim');
  const printed = run(sloop, ['-print-rbac']).stdout;
  const printedGrants = grants({ rules: YAML.parse(printed) }, 'sloop -print-rbac');
  const helmRole = helmTemplate([]).find((o) => o.kind === 'ClusterRole');
  const kustomizeRole = kustomizeBuild(kustomizeRoot).find((o) => o.kind === 'ClusterRole');
  const helmGrants = grants(helmRole, 'chart');
  ok(sameSet(helmGrants, printedGrants), `chart ClusterRole [${show(helmGrants)}] != sloop -print-rbac [${show(printedGrants)}]`);
  ok(sameSet(grants(kustomizeRole, 'kustomize'), printedGrants), 'kustomize ClusterRole != sloop -print-rbac');
  ok(fs.readFileSync(path.join(chart, 'files', 'rbac-rules.yaml'), 'utf8') === printed,
    'deploy/helm/sloop/files/rbac-rules.yaml is not what sloop -print-rbac prints: regenerate it');
  for (const g of printedGrants) ok(!g.endsWith('/secrets') && !g.includes('*'), `default role grants ${g}`);
  // One namespace (config.watchNamespace): a Role and a RoleBinding in it, no cluster-wide grant,
  // with the rules sloop prints for that configuration (namespaced kinds only).
  const nsPrinted = run(sloop, ['-print-rbac', '-watch-namespace=default']).stdout;
  ok(fs.readFileSync(path.join(chart, 'files', 'rbac-rules-namespaced.yaml'), 'utf8') === nsPrinted,
    'deploy/helm/sloop/files/rbac-rules-namespaced.yaml is not what sloop -print-rbac -watch-namespace=default prints: regenerate it');
  const nsPrintedGrants = grants({ rules: YAML.parse(nsPrinted) }, 'sloop -print-rbac -watch-namespace');
  for (const [what, objs] of [['chart', helmTemplate(NAMESPACE_SETS)],
    ['kustomize namespace-only', kustomizeBuild(path.join(kustomizeRoot, 'namespace-only'))]]) {
    ok(!objs.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'),
      `${what}: one namespace recorded, yet a ClusterRole or ClusterRoleBinding is rendered`);
    const role = objs.find((o) => o.kind === 'Role');
    const binding = objs.find((o) => o.kind === 'RoleBinding');
    if (!ok(role && binding, `${what}: no Role and RoleBinding for one namespace`)) continue;
    ok(role.metadata.namespace === 'default' && binding.metadata.namespace === 'default',
      `${what}: the Role and RoleBinding are not in the recorded namespace`);
    ok(sameSet(grants(role, what), nsPrintedGrants), `${what}: Role != sloop -print-rbac -watch-namespace`);
    for (const g of nsPrintedGrants) ok(!g.startsWith('/nodes') && !g.startsWith('/namespaces') && !g.endsWith('/secrets'), `one-namespace role grants ${g}`);
  }
  // The ConfigMap's configuration is one sloop accepts (unknown keys are an error), and the rules
  // sloop prints for it are the role the same rendering carries.
  for (const sets of [[], INGRESS_SETS, NAMESPACE_SETS]) {
    const objs = helmTemplate(sets);
    const file = path.join(scratch, 'sloop.yaml');
    fs.writeFileSync(file, objs.find((o) => o.kind === 'ConfigMap').data['sloop.yaml']);
    const r = run(sloop, [`-config=${file}`, '-print-rbac'], { mayFail: true });
    if (!ok(r.status === 0, `sloop refuses the chart's configuration (${sets.join(' ')}): ${r.stderr}`)) continue;
    const forConfig = grants({ rules: YAML.parse(r.stdout) }, 'sloop -print-rbac -config');
    const role = grants(objs.find((o) => o.kind === 'ClusterRole' || o.kind === 'Role'), 'chart');
    ok(sameSet(forConfig, role), `rules for the rendered config [${show(forConfig)}] != the rendered role [${show(role)}]`);
  }

  // Against the simulator: what sloop really watches with the default configuration.
  fs.mkdirSync(path.join(scratch, 'live'), { recursive: true });
  const live = path.join(scratch, 'live');
  const portFile = path.join(live, 'kubesim.port');
  const kubeconfig = path.join(live, 'kubeconfig');
  const sim = start(kubesim, ['--port', '0', '--bind', '127.0.0.1', '--port-file', portFile,
    '--kubeconfig-out', kubeconfig, '--seed', '3'], path.join(live, 'kubesim.log'));
  let rec;
  try {
    await waitFor(portFile, /\d+/, 30000);
    const port = fs.readFileSync(portFile, 'utf8').trim();
    await waitFor(kubeconfig, /server/, 10000);
    rec = start(sloop, ['-port=0', '-bind-address=127.0.0.1', `-store-root=${path.join(live, 'store')}`],
      path.join(live, 'sloop.log'), { KUBECONFIG: kubeconfig, HOME: live });
    const m = await waitFor(path.join(live, 'sloop.log'), /watching (\d+) resource types: ([^\n]*)/, 60000);
    const watched = new Set(m[2].split(', ').map((gr) => {
      const dot = gr.indexOf('.');
      return dot < 0 ? `/${gr}` : `${gr.slice(dot + 1)}/${gr.slice(0, dot)}`;
    }));
    ok(watched.size === Number(m[1]), `log says ${m[1]} kinds, lists ${watched.size}`);

    // What the simulator serves (list and watch, top-level), from its discovery documents.
    const base = `http://127.0.0.1:${port}`;
    const served = new Set();
    const addList = async (p, group) => {
      const doc = await (await fetch(base + p)).json();
      for (const r of doc.resources) {
        if (!r.name.includes('/') && r.verbs.includes('list') && r.verbs.includes('watch')) served.add(`${group}/${r.name}`);
      }
    };
    await addList('/api/v1', '');
    for (const g of (await (await fetch(`${base}/apis`)).json()).groups) {
      await addList(`/apis/${g.preferredVersion.groupVersion}`, g.name);
    }

    // The chart with the simulator's custom resource group granted (as a user would).
    const role = helmTemplate(['clusterRole.apiGroups={example.com}']).find((o) => o.kind === 'ClusterRole');
    const granted = grants(role, 'chart with apiGroups');
    const allows = (gr) => granted.has(gr) || granted.has(`${gr.split('/')[0]}/*`);
    for (const gr of watched) ok(allows(gr), `sloop watches ${gr}, which the ClusterRole does not grant`);
    // Nothing more: every granted kind the simulator serves is watched, except the CRD list that
    // discovery reads (to tell custom resources apart) and does not watch.
    for (const gr of granted) {
      if (gr.endsWith('/*') || gr === 'apiextensions.k8s.io/customresourcedefinitions') continue;
      if (served.has(gr)) ok(watched.has(gr), `the ClusterRole grants ${gr}, which sloop does not watch`);
    }
    ok(!watched.has('/secrets'), 'sloop watches Secrets');
    ok(watched.has('example.com/widgets'), `the simulator's custom resource is not watched: ${show(watched)}`);
    console.log(`sloop watched ${watched.size} kinds against kubesim: ${show(watched)}`);
  } finally {
    if (rec) await stop(rec);
    await stop(sim);
  }
}

const checks = { lint: checkLint, kustomize: checkKustomize, schema: checkSchema, rbac: checkRbac };
if (!checks[check]) {
  console.error(`usage: node chart_test.mjs ${Object.keys(checks).join('|')} --source DIR --tools DIR --scratch DIR [--sloop BIN --kubesim BIN]`);
  process.exit(2);
}
fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(scratch, { recursive: true });
try {
  await checks[check]();
} catch (e) {
  failures++;
  console.error(`FAIL: ${e.message}`);
}
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
