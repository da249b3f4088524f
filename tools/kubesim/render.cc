// Renders object states as a real API server serialises them (compact JSON, field order as Go's
// encoder writes it), shaped after tests/testdata/k8s/*.json.
#include <string>

#include "json_writer.h"
#include "objects.h"

namespace kubesim {

std::string_view event_type_name(EventType t) {
  switch (t) {
    case EventType::Added:
      return "ADDED";
    case EventType::Modified:
      return "MODIFIED";
    case EventType::Deleted:
      return "DELETED";
  }
  return "ADDED";
}

std::string node_ip(int index) {
  return "10.42." + std::to_string(16 + index / 250) + "." + std::to_string(4 + index % 250);
}

std::string pod_cidr(int index) {
  return "10." + std::to_string(64 + index / 256) + "." + std::to_string(index % 256) + ".0/24";
}

namespace {

// Writes the envelope and metadata of one object and records where metadata sits.
class Doc {
 public:
  Doc(ObjectVersion& v, const ObjectMeta& m, Kind k, int64_t grace_seconds = 0) : v_(v), w(v.json) {
    const ResourceType& rt = resource_type(k);
    v.kind = k;
    v.ns = m.ns;
    v.name = m.name;
    v.uid = m.uid;
    v.rv = m.rv;
    v.created = m.created;
    v.labels = m.labels;
    v.json.reserve(2048);
    w.begin_object().kv("kind", rt.kind_name).kv("apiVersion", rt.api_version()).key("metadata");
    v.meta_begin = static_cast<uint32_t>(v.json.size());
    w.begin_object().kv("name", m.name);
    if (!m.generate_name.empty()) w.kv("generateName", m.generate_name);
    if (!m.ns.empty()) w.kv("namespace", m.ns);
    w.kv("uid", m.uid).kv("resourceVersion", std::to_string(m.rv));
    if (m.generation > 0) w.kv("generation", m.generation);
    w.kv("creationTimestamp", format_time(m.created));
    if (m.deleted != 0) {
      w.kv("deletionTimestamp", format_time(m.deleted));
      if (grace_seconds > 0) w.kv("deletionGracePeriodSeconds", grace_seconds);
    }
    write_map("labels", m.labels);
    write_map("annotations", m.annotations);
    if (m.owner) {
      const ResourceType& ot = resource_type(m.owner->kind);
      w.key("ownerReferences").begin_array().begin_object();
      w.kv("apiVersion", ot.api_version())
          .kv("kind", ot.kind_name)
          .kv("name", m.owner->name)
          .kv("uid", m.owner->uid)
          .kv("controller", true)
          .kv("blockOwnerDeletion", true);
      w.end_object().end_array();
    }
  }

  void write_map(std::string_view key, const Labels& l) {
    if (l.empty()) return;
    w.key(key).begin_object();
    for (const auto& [k, v] : l) w.kv(k, v);
    w.end_object();
  }

  void begin_managed() { w.key("managedFields").begin_array(); }
  // One managedFields entry; `fields` is the already-encoded fieldsV1 object.
  void managed(std::string_view manager, std::string_view api_version, SimTime t,
               std::string_view fields, std::string_view subresource = "",
               std::string_view operation = "Update") {
    w.begin_object()
        .kv("manager", manager)
        .kv("operation", operation)
        .kv("apiVersion", api_version)
        .kv("time", format_time(t))
        .kv("fieldsType", "FieldsV1")
        .key("fieldsV1")
        .raw(fields);
    if (!subresource.empty()) w.kv("subresource", subresource);
    w.end_object();
  }
  void end_managed() { w.end_array(); }

  void end_meta() {
    w.end_object();
    v_.meta_end = static_cast<uint32_t>(v_.json.size());
  }
  void finish() { w.end_object(); }

  ObjectVersion& v_;
  JsonWriter w;
};

void condition(JsonWriter& w, std::string_view type, std::string_view status, SimTime transition,
               std::string_view reason = "", std::string_view message = "",
               bool probe_null = false) {
  w.begin_object().kv("type", type).kv("status", status);
  if (probe_null) w.key("lastProbeTime").null();
  w.kv("lastTransitionTime", format_time(transition));
  if (!reason.empty()) w.kv("reason", reason);
  if (!message.empty()) w.kv("message", message);
  w.end_object();
}

std::string hex_id(std::string_view seed, size_t len) {
  // A stable pseudo-random hex string derived from `seed` (FNV-1a, then a xorshift stream).
  uint64_t h = 1469598103934665603ull;
  for (char c : seed) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::string out;
  out.reserve(len);
  static constexpr char kHex[] = "0123456789abcdef";
  while (out.size() < len) {
    h ^= h << 13;
    h ^= h >> 7;
    h ^= h << 17;
    for (int i = 0; i < 16 && out.size() < len; ++i) out += kHex[(h >> (i * 4)) & 15];
  }
  return out;
}

constexpr std::string_view kRunningFields =
    R"({"f:status":{"f:conditions":{"k:{\"type\":\"ContainersReady\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Initialized\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"PodReadyToStartContainers\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStatuses":{},"f:hostIP":{},"f:hostIPs":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"%IP%\"}":{".":{},"f:ip":{}}},"f:startTime":{}}})";

std::string kubelet_fields(const std::string& ip) {
  std::string s(kRunningFields);
  const auto p = s.find("%IP%");
  s.replace(p, 4, ip.empty() ? "0.0.0.0" : ip);
  return s;
}

}  // namespace

ObjectVersion render(const NamespaceState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Namespace);
  d.begin_managed();
  d.managed("kubectl-create", "v1", s.meta.created,
            R"({"f:metadata":{"f:labels":{".":{},"f:kubernetes.io/metadata.name":{}}}})");
  d.end_managed();
  d.end_meta();
  const char* phase = s.terminating ? "Terminating" : "Active";
  d.w.key("spec").begin_object().key("finalizers").begin_array().str("kubernetes").end_array();
  d.w.end_object();
  d.w.key("status").begin_object().kv("phase", phase).end_object();
  d.finish();
  v.fields = {{"status.phase", phase}};
  v.cells = {Cell::t(phase), Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const NodeState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Node);
  const std::string ip = node_ip(s.index);
  d.begin_managed();
  d.managed(
      "kubelet", "v1", s.meta.created,
      R"({"f:metadata":{"f:annotations":{".":{},"f:node.alpha.kubernetes.io/ttl":{},"f:volumes.kubernetes.io/controller-managed-attach-detach":{}},"f:labels":{".":{},"f:beta.kubernetes.io/arch":{},"f:beta.kubernetes.io/instance-type":{},"f:beta.kubernetes.io/os":{},"f:kubernetes.io/arch":{},"f:kubernetes.io/hostname":{},"f:kubernetes.io/os":{},"f:node.kubernetes.io/instance-type":{},"f:topology.kubernetes.io/region":{},"f:topology.kubernetes.io/zone":{}}},"f:spec":{"f:providerID":{}}})");
  d.managed(
      "kube-controller-manager", "v1", s.ready_since,
      R"({"f:spec":{"f:podCIDR":{},"f:podCIDRs":{".":{},"v:\"10.64.0.0/24\"":{}},"f:taints":{}}})");
  d.managed(
      "kubelet", "v1", s.heartbeat,
      R"({"f:status":{"f:allocatable":{"f:cpu":{},"f:ephemeral-storage":{},"f:memory":{}},"f:conditions":{"k:{\"type\":\"DiskPressure\"}":{"f:lastHeartbeatTime":{}},"k:{\"type\":\"MemoryPressure\"}":{"f:lastHeartbeatTime":{}},"k:{\"type\":\"PIDPressure\"}":{"f:lastHeartbeatTime":{}},"k:{\"type\":\"Ready\"}":{"f:lastHeartbeatTime":{},"f:lastTransitionTime":{},"f:message":{},"f:reason":{},"f:status":{}}},"f:images":{},"f:nodeInfo":{"f:bootID":{}}}})",
      "status");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object();
  w.kv("providerID", "aws:///" + s.zone + "/i-0" + hex_id(s.meta.name, 16));
  w.kv("podCIDR", pod_cidr(s.index));
  w.key("podCIDRs").begin_array().str(pod_cidr(s.index)).end_array();
  if (s.cordoned) w.kv("unschedulable", true);
  if (s.unreachable || s.cordoned) {
    w.key("taints").begin_array();
    if (s.unreachable) {
      w.begin_object()
          .kv("key", "node.kubernetes.io/unreachable")
          .kv("effect", "NoSchedule")
          .kv("timeAdded", format_time(s.ready_since))
          .end_object();
      w.begin_object()
          .kv("key", "node.kubernetes.io/unreachable")
          .kv("effect", "NoExecute")
          .kv("timeAdded", format_time(s.ready_since))
          .end_object();
    }
    if (s.cordoned) {
      w.begin_object()
          .kv("key", "node.kubernetes.io/unschedulable")
          .kv("effect", "NoSchedule")
          .kv("timeAdded", format_time(s.ready_since))
          .end_object();
    }
    w.end_array();
  }
  w.end_object();
  w.key("status").begin_object();
  const std::string cpu = std::to_string(s.cpu_millis / 1000);
  const std::string pods = std::to_string(s.pods_capacity);
  w.key("capacity")
      .begin_object()
      .kv("cpu", cpu)
      .kv("ephemeral-storage", "104845292Ki")
      .kv("hugepages-1Gi", "0")
      .kv("hugepages-2Mi", "0")
      .kv("memory", "32386208Ki")
      .kv("pods", pods)
      .end_object();
  w.key("allocatable")
      .begin_object()
      .kv("cpu", std::to_string(s.cpu_millis - 90) + "m")
      .kv("ephemeral-storage", "95551679124")
      .kv("hugepages-1Gi", "0")
      .kv("hugepages-2Mi", "0")
      .kv("memory", "31369376Ki")
      .kv("pods", pods)
      .end_object();
  w.key("conditions").begin_array();
  const std::string hb = format_time(s.heartbeat);
  const std::string created = format_time(s.meta.created + 22 * kSecond);
  auto pressure = [&](const char* type, const char* reason, const char* msg) {
    const char* st = s.unreachable ? "Unknown" : "False";
    w.begin_object().kv("type", type).kv("status", st).kv("lastHeartbeatTime", hb);
    w.kv("lastTransitionTime", s.unreachable ? format_time(s.ready_since) : created);
    w.kv("reason", s.unreachable ? "NodeStatusUnknown" : reason)
        .kv("message", s.unreachable ? "Kubelet stopped posting node status." : msg)
        .end_object();
  };
  pressure("MemoryPressure", "KubeletHasSufficientMemory",
           "kubelet has sufficient memory available");
  pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure");
  pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available");
  w.begin_object()
      .kv("type", "Ready")
      .kv("status", s.unreachable ? "Unknown" : (s.ready ? "True" : "False"))
      .kv("lastHeartbeatTime", hb)
      .kv("lastTransitionTime", format_time(s.ready_since))
      .kv("reason", s.unreachable ? "NodeStatusUnknown" : "KubeletReady")
      .kv("message", s.unreachable ? "Kubelet stopped posting node status."
                                   : "kubelet is posting ready status")
      .end_object();
  w.end_array();
  w.key("addresses").begin_array();
  w.begin_object().kv("type", "InternalIP").kv("address", ip).end_object();
  w.begin_object().kv("type", "InternalDNS").kv("address", s.meta.name).end_object();
  w.begin_object().kv("type", "Hostname").kv("address", s.meta.name).end_object();
  w.end_array();
  w.raw(R"("daemonEndpoints":{"kubeletEndpoint":{"Port":10250}})");
  const std::string mid = hex_id(s.meta.name + "m", 32);
  w.key("nodeInfo")
      .begin_object()
      .kv("machineID", mid)
      .kv("systemUUID", mid.substr(0, 8) + "-" + mid.substr(8, 4) + "-" + mid.substr(12, 4) + "-" +
                            mid.substr(16, 4) + "-" + mid.substr(20, 12))
      .kv("bootID", hex_id(s.meta.name + "b" + std::to_string(s.ready_since), 8) +
                        "-5a2c-4e8b-9d0f-" + hex_id(s.meta.name + "c", 12))
      .kv("kernelVersion", "6.1.112-124.190.amzn2023.x86_64")
      .kv("osImage", "Amazon Linux 2023.6.20241010")
      .kv("containerRuntimeVersion", "containerd://1.7.22")
      .kv("kubeletVersion", "v1.32.4-eks-7f9249a")
      .kv("kubeProxyVersion", "v1.32.4-eks-7f9249a")
      .kv("operatingSystem", "linux")
      .kv("architecture", "amd64")
      .end_object();
  static constexpr std::pair<std::string_view, int64_t> kImages[] = {
      {"registry.example.com/shop/checkout:v2.14.1", 48213377},
      {"registry.example.com/shop/cart:v1.9.0", 39120040},
      {"registry.example.com/platform/fluent-bit:3.1.9", 35512311},
      {"registry.example.com/platform/node-exporter:v1.8.2", 11723400},
      {"registry.example.com/platform/aws-node:v1.18.5", 66201344},
      {"registry.example.com/platform/kube-proxy:v1.32.4", 32871102},
      {"registry.example.com/platform/coredns:v1.11.3", 17620011},
      {"registry.example.com/pause:3.9", 318204}};
  w.key("images").begin_array();
  for (const auto& [name, size] : kImages) {
    const auto colon = name.rfind(':');
    w.begin_object().key("names").begin_array();
    w.str(std::string(name.substr(0, colon)) + "@sha256:" + hex_id(name, 64)).str(name);
    w.end_array().kv("sizeBytes", size).end_object();
  }
  w.end_array();
  w.end_object();
  d.finish();
  const char* status = s.unreachable ? "NotReady" : (s.ready ? "Ready" : "NotReady");
  std::string st = status;
  if (s.cordoned) st += ",SchedulingDisabled";
  v.fields = {{"spec.unschedulable", s.cordoned ? "true" : "false"}};
  v.cells = {Cell::t(st),
             Cell::t("<none>"),
             Cell::age(s.meta.created),
             Cell::t("v1.32.4-eks-7f9249a"),
             Cell::t(ip),
             Cell::t("<none>"),
             Cell::t("Amazon Linux 2023.6.20241010"),
             Cell::t("6.1.112-124.190.amzn2023.x86_64"),
             Cell::t("containerd://1.7.22")};
  return v;
}

ObjectVersion render(const PodState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Pod, 30);
  const std::string sa_volume = "kube-api-access-" + hex_id(s.meta.uid, 5);
  d.begin_managed();
  if (s.meta.owner) {
    std::string f =
        R"({"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app.kubernetes.io/name":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\")" +
        s.meta.owner->uid + R"(\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\")" + s.container +
        R"(\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{},"f:resources":{},"f:readinessProbe":{}}}}})";
    d.managed("kube-controller-manager", "v1", s.meta.created, f);
  } else {
    d.managed("kubectl-run", "v1", s.meta.created,
              R"({"f:metadata":{"f:labels":{".":{},"f:run":{}}},"f:spec":{"f:containers":{}}})");
  }
  if (s.scheduled && s.meta.updated > 0) {
    d.managed("kubelet", "v1", s.meta.updated, kubelet_fields(s.pod_ip), "status");
  }
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  const bool job = s.behaviour == PodBehaviour::RunToCompletion;
  w.key("spec").begin_object();
  w.key("volumes").begin_array();
  if (!s.pvc.empty()) {
    w.begin_object()
        .kv("name", "data")
        .key("persistentVolumeClaim")
        .begin_object()
        .kv("claimName", s.pvc)
        .end_object()
        .end_object();
  }
  w.begin_object().kv("name", sa_volume);
  w.raw(
      R"("projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420})");
  w.end_object().end_array();
  w.key("containers").begin_array().begin_object();
  w.kv("name", s.container).kv("image", s.image);
  if (!job) {
    w.raw(R"("ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}])");
  }
  w.key("env").begin_array();
  w.begin_object().kv("name", "LOG_LEVEL").kv("value", "info").end_object();
  w.raw(
      R"({"name":"POD_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}})");
  w.end_array();
  w.key("resources").begin_object();
  w.key("limits").begin_object().kv("cpu", s.cpu_limit).kv("memory", s.memory_limit).end_object();
  w.key("requests")
      .begin_object()
      .kv("cpu", s.cpu_request)
      .kv("memory", s.memory_request)
      .end_object();
  w.end_object();
  w.key("volumeMounts").begin_array();
  if (!s.pvc.empty()) w.raw(R"({"name":"data","mountPath":"/var/lib/data"})");
  w.begin_object()
      .kv("name", sa_volume)
      .kv("readOnly", true)
      .kv("mountPath", "/var/run/secrets/kubernetes.io/serviceaccount")
      .end_object();
  w.end_array();
  if (!job) {
    w.raw(
        R"("readinessProbe":{"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"initialDelaySeconds":5,"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3})");
  }
  w.kv("terminationMessagePath", "/dev/termination-log")
      .kv("terminationMessagePolicy", "File")
      .kv("imagePullPolicy", "IfNotPresent");
  w.end_object().end_array();
  w.kv("restartPolicy", job ? "Never" : "Always")
      .kv("terminationGracePeriodSeconds", 30)
      .kv("dnsPolicy", "ClusterFirst")
      .kv("serviceAccountName", "default")
      .kv("serviceAccount", "default");
  if (!s.node.empty()) w.kv("nodeName", s.node);
  w.raw(R"("securityContext":{})");
  w.kv("schedulerName", "default-scheduler");
  w.key("tolerations").begin_array();
  for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    w.begin_object()
        .kv("key", key)
        .kv("operator", "Exists")
        .kv("effect", "NoExecute")
        .kv("tolerationSeconds", s.toleration_seconds)
        .end_object();
  }
  w.end_array();
  w.kv("priority", 0).kv("enableServiceLinks", true).kv("preemptionPolicy", "PreemptLowerPriority");
  w.end_object();

  // status
  w.key("status").begin_object().kv("phase", s.phase);
  w.key("conditions").begin_array();
  if (s.scheduled) {
    const bool sandbox = s.initialized && s.phase != "Succeeded" && s.phase != "Failed";
    if (s.initialized) {
      condition(w, "PodReadyToStartContainers", sandbox ? "True" : "False",
                s.scheduled_at + 400 * kMillisecond, "", "", true);
      condition(w, "Initialized", "True", s.scheduled_at, "", "", true);
    }
    const char* rs = s.ready ? "True" : "False";
    const std::string why =
        s.ready ? "" : (job && s.phase == "Succeeded" ? "PodCompleted" : "ContainersNotReady");
    const std::string msg = s.ready || why == "PodCompleted"
                                ? ""
                                : "containers with unready status: [" + s.container + "]";
    condition(w, "Ready", rs, s.ready_changed, why, msg, true);
    condition(w, "ContainersReady", rs, s.ready_changed, why, msg, true);
    condition(w, "PodScheduled", "True", s.scheduled_at, "", "", true);
  } else if (!s.unschedulable_message.empty()) {
    condition(w, "PodScheduled", "False", s.meta.updated, "Unschedulable", s.unschedulable_message,
              true);
  }
  w.end_array();
  if (s.initialized) {
    w.kv("hostIP", s.host_ip);
    w.key("hostIPs").begin_array().begin_object().kv("ip", s.host_ip).end_object().end_array();
    if (!s.pod_ip.empty()) {
      w.kv("podIP", s.pod_ip);
      w.key("podIPs").begin_array().begin_object().kv("ip", s.pod_ip).end_object().end_array();
    }
    w.kv("startTime", format_time(s.started_at));
    w.key("containerStatuses").begin_array().begin_object().kv("name", s.container);
    w.key("state").begin_object();
    switch (s.cphase) {
      case ContainerPhase::Waiting:
        w.key("waiting").begin_object().kv("reason", s.waiting_reason);
        if (!s.waiting_message.empty()) w.kv("message", s.waiting_message);
        w.end_object();
        break;
      case ContainerPhase::Running:
        w.key("running").begin_object().kv("startedAt", format_time(s.running_since)).end_object();
        break;
      case ContainerPhase::Terminated:
        w.key("terminated")
            .begin_object()
            .kv("exitCode", s.exit_code)
            .kv("reason", s.terminated_reason)
            .kv("startedAt", format_time(s.running_since))
            .kv("finishedAt", format_time(s.terminated_at))
            .kv("containerID", "containerd://" + s.container_id)
            .end_object();
        break;
    }
    w.end_object();
    w.key("lastState").begin_object();
    if (s.has_last_state) {
      w.key("terminated")
          .begin_object()
          .kv("exitCode", s.last_exit)
          .kv("reason", s.last_reason)
          .kv("startedAt", format_time(s.last_started))
          .kv("finishedAt", format_time(s.last_finished))
          .kv("containerID", "containerd://" + hex_id(s.container_id + "prev", 64))
          .end_object();
    }
    w.end_object();
    w.kv("ready", s.ready).kv("restartCount", s.restarts).kv("image", s.image);
    const bool has_image = s.cphase != ContainerPhase::Waiting || s.restarts > 0 ||
                           s.waiting_reason == "CrashLoopBackOff";
    w.kv("imageID",
         has_image ? s.image.substr(0, s.image.rfind(':')) + "@sha256:" + hex_id(s.image, 64) : "");
    if (!s.container_id.empty() && has_image) w.kv("containerID", "containerd://" + s.container_id);
    w.kv("started", s.cphase == ContainerPhase::Running);
    w.end_object().end_array();
  }
  w.kv("qosClass", "Burstable");
  w.end_object();
  d.finish();

  // Table: READY STATUS RESTARTS AGE IP NODE NOMINATED-NODE READINESS-GATES
  std::string status = s.phase;
  if (s.cphase == ContainerPhase::Waiting && !s.waiting_reason.empty() && s.initialized) {
    status = s.waiting_reason;
  } else if (s.cphase == ContainerPhase::Terminated && !s.terminated_reason.empty()) {
    status = s.terminated_reason;
  }
  if (s.meta.deleted != 0) status = "Terminating";
  v.fields = {{"spec.nodeName", s.node},
              {"status.phase", s.phase},
              {"spec.restartPolicy", job ? "Never" : "Always"},
              {"spec.schedulerName", "default-scheduler"},
              {"spec.serviceAccountName", "default"},
              {"status.podIP", s.pod_ip}};
  v.cells = {Cell::t(s.ready ? "1/1" : "0/1"),
             Cell::t(status),
             Cell::restarts(s.restarts, s.last_restart),
             Cell::age(s.meta.created),
             Cell::t(s.pod_ip.empty() ? "<none>" : s.pod_ip),
             Cell::t(s.node.empty() ? "<none>" : s.node),
             Cell::t("<none>"),
             Cell::t("<none>")};
  return v;
}

namespace {

void pod_template(JsonWriter& w, const std::string& app, const std::string& image,
                  const Labels& extra_labels, const std::string& cpu = "100m") {
  w.key("template").begin_object().key("metadata").begin_object();
  w.key("labels").begin_object().kv("app.kubernetes.io/name", app);
  for (const auto& [k, v] : extra_labels) w.kv(k, v);
  w.end_object().end_object();
  w.key("spec").begin_object().key("containers").begin_array().begin_object();
  w.kv("name", app).kv("image", image);
  w.raw(R"("ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}])");
  w.key("resources")
      .begin_object()
      .key("limits")
      .begin_object()
      .kv("cpu", "500m")
      .kv("memory", "256Mi")
      .end_object()
      .key("requests")
      .begin_object()
      .kv("cpu", cpu)
      .kv("memory", "128Mi")
      .end_object()
      .end_object();
  w.kv("terminationMessagePath", "/dev/termination-log")
      .kv("terminationMessagePolicy", "File")
      .kv("imagePullPolicy", "IfNotPresent");
  w.end_object().end_array();
  w.kv("restartPolicy", "Always")
      .kv("terminationGracePeriodSeconds", 30)
      .kv("dnsPolicy", "ClusterFirst")
      .raw(R"("securityContext":{})")
      .kv("schedulerName", "default-scheduler");
  w.end_object().end_object();
}

void selector(JsonWriter& w, const std::string& app, const Labels& extra = {}) {
  w.key("selector").begin_object().key("matchLabels").begin_object();
  w.kv("app.kubernetes.io/name", app);
  for (const auto& [k, v] : extra) w.kv(k, v);
  w.end_object().end_object();
}

std::string app_selector(const std::string& app) { return "app.kubernetes.io/name=" + app; }

}  // namespace

ObjectVersion render(const ReplicaSetState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::ReplicaSet);
  d.begin_managed();
  d.managed(
      "kube-controller-manager", "apps/v1", s.meta.created,
      R"({"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/desired-replicas":{},"f:deployment.kubernetes.io/max-replicas":{},"f:deployment.kubernetes.io/revision":{}},"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:pod-template-hash":{}},"f:ownerReferences":{}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{}}})");
  d.managed(
      "kube-controller-manager", "apps/v1", s.meta.updated > 0 ? s.meta.updated : s.meta.created,
      R"({"f:status":{"f:availableReplicas":{},"f:fullyLabeledReplicas":{},"f:observedGeneration":{},"f:readyReplicas":{},"f:replicas":{}}})",
      "status");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object().kv("replicas", s.replicas);
  selector(w, s.app, {{"pod-template-hash", s.hash}});
  pod_template(w, s.app, s.image, {{"pod-template-hash", s.hash}}, s.cpu_request);
  w.end_object();
  w.key("status")
      .begin_object()
      .kv("replicas", s.current)
      .kv("fullyLabeledReplicas", s.current)
      .kv("readyReplicas", s.ready)
      .kv("availableReplicas", s.available)
      .kv("observedGeneration", s.observed)
      .end_object();
  d.finish();
  v.cells = {Cell::i(s.replicas),
             Cell::i(s.current),
             Cell::i(s.ready),
             Cell::age(s.meta.created),
             Cell::t(s.app),
             Cell::t(s.image),
             Cell::t(app_selector(s.app) + ",pod-template-hash=" + s.hash)};
  return v;
}

ObjectVersion render(const DeploymentState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Deployment);
  d.begin_managed();
  d.managed(
      "kubectl-client-side-apply", "apps/v1", s.meta.created,
      R"({"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{}}},"f:spec":{"f:containers":{}}}}})");
  d.managed(
      "kube-controller-manager", "apps/v1", s.meta.updated > 0 ? s.meta.updated : s.meta.created,
      R"({"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/revision":{}}},"f:status":{"f:availableReplicas":{},"f:conditions":{".":{},"k:{\"type\":\"Available\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"f:message":{},"f:reason":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Progressing\"}":{".":{},"f:lastTransitionTime":{},"f:lastUpdateTime":{},"f:message":{},"f:reason":{},"f:status":{},"f:type":{}}},"f:observedGeneration":{},"f:readyReplicas":{},"f:replicas":{},"f:updatedReplicas":{}}})",
      "status");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object().kv("replicas", s.replicas);
  selector(w, s.app);
  pod_template(w, s.app, s.image, {}, s.cpu_request);
  w.raw(
      R"("strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}})");
  w.kv("revisionHistoryLimit", 10).kv("progressDeadlineSeconds", 600);
  w.end_object();
  w.key("status").begin_object().kv("observedGeneration", s.observed);
  w.kv("replicas", s.total).kv("updatedReplicas", s.updated).kv("readyReplicas", s.ready);
  w.kv("availableReplicas", s.available);
  if (s.total > s.available) w.kv("unavailableReplicas", s.total - s.available);
  const SimTime upd = s.meta.updated > 0 ? s.meta.updated : s.meta.created;
  w.key("conditions").begin_array();
  const bool avail = s.available >= s.replicas - (s.replicas + 3) / 4;
  w.begin_object()
      .kv("type", "Available")
      .kv("status", avail ? "True" : "False")
      .kv("lastUpdateTime", format_time(upd))
      .kv("lastTransitionTime", format_time(s.available_since))
      .kv("reason", avail ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable")
      .kv("message", avail ? "Deployment has minimum availability."
                           : "Deployment does not have minimum availability.")
      .end_object();
  w.begin_object().kv("type", "Progressing");
  if (s.deadline_exceeded) {
    w.kv("status", "False")
        .kv("lastUpdateTime", format_time(upd))
        .kv("lastTransitionTime", format_time(upd))
        .kv("reason", "ProgressDeadlineExceeded")
        .kv("message", "ReplicaSet \"" + s.new_rs + "\" has timed out progressing.");
  } else if (s.progressing_done) {
    w.kv("status", "True")
        .kv("lastUpdateTime", format_time(upd))
        .kv("lastTransitionTime", format_time(s.rollout_started))
        .kv("reason", "NewReplicaSetAvailable")
        .kv("message", "ReplicaSet \"" + s.new_rs + "\" has successfully progressed.");
  } else {
    w.kv("status", "True")
        .kv("lastUpdateTime", format_time(upd))
        .kv("lastTransitionTime", format_time(s.rollout_started))
        .kv("reason", "ReplicaSetUpdated")
        .kv("message", "ReplicaSet \"" + s.new_rs + "\" is progressing.");
  }
  w.end_object();
  w.end_array();
  w.end_object();
  d.finish();
  v.cells = {Cell::t(std::to_string(s.ready) + "/" + std::to_string(s.replicas)),
             Cell::i(s.updated),
             Cell::i(s.available),
             Cell::age(s.meta.created),
             Cell::t(s.app),
             Cell::t(s.image),
             Cell::t(app_selector(s.app))};
  return v;
}

ObjectVersion render(const StatefulSetState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::StatefulSet);
  d.begin_managed();
  d.managed(
      "kubectl-client-side-apply", "apps/v1", s.meta.created,
      R"({"f:spec":{"f:replicas":{},"f:selector":{},"f:serviceName":{},"f:template":{},"f:volumeClaimTemplates":{}}})");
  d.managed(
      "kube-controller-manager", "apps/v1", s.meta.updated > 0 ? s.meta.updated : s.meta.created,
      R"({"f:status":{"f:availableReplicas":{},"f:collisionCount":{},"f:currentReplicas":{},"f:currentRevision":{},"f:observedGeneration":{},"f:readyReplicas":{},"f:replicas":{},"f:updateRevision":{},"f:updatedReplicas":{}}})",
      "status");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object().kv("replicas", s.replicas);
  selector(w, s.app);
  pod_template(w, s.app, s.image, {});
  w.key("volumeClaimTemplates").begin_array();
  w.raw(
      R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"10Gi"}},"storageClassName":"gp3","volumeMode":"Filesystem"},"status":{"phase":"Pending"}})");
  w.end_array();
  w.kv("serviceName", s.service).kv("podManagementPolicy", "OrderedReady");
  w.raw(R"("updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}})");
  w.kv("revisionHistoryLimit", 10);
  w.raw(R"("persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Retain"})");
  w.end_object();
  w.key("status")
      .begin_object()
      .kv("observedGeneration", s.observed)
      .kv("replicas", s.current)
      .kv("readyReplicas", s.ready)
      .kv("currentReplicas", s.current)
      .kv("updatedReplicas", s.current)
      .kv("currentRevision", s.revision)
      .kv("updateRevision", s.revision)
      .kv("collisionCount", 0)
      .kv("availableReplicas", s.ready)
      .end_object();
  d.finish();
  v.cells = {Cell::t(std::to_string(s.ready) + "/" + std::to_string(s.replicas)),
             Cell::age(s.meta.created), Cell::t(s.app), Cell::t(s.image)};
  return v;
}

ObjectVersion render(const DaemonSetState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::DaemonSet);
  d.begin_managed();
  d.managed("kubectl-client-side-apply", "apps/v1", s.meta.created,
            R"({"f:spec":{"f:selector":{},"f:template":{},"f:updateStrategy":{}}})");
  d.managed(
      "kube-controller-manager", "apps/v1", s.meta.updated > 0 ? s.meta.updated : s.meta.created,
      R"({"f:status":{"f:currentNumberScheduled":{},"f:desiredNumberScheduled":{},"f:numberAvailable":{},"f:numberReady":{},"f:observedGeneration":{},"f:updatedNumberScheduled":{}}})",
      "status");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object();
  selector(w, s.app);
  pod_template(w, s.app, s.image, {});
  w.raw(
      R"("updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}})");
  w.kv("revisionHistoryLimit", 10);
  w.end_object();
  w.key("status")
      .begin_object()
      .kv("currentNumberScheduled", s.current)
      .kv("numberMisscheduled", 0)
      .kv("desiredNumberScheduled", s.desired)
      .kv("numberReady", s.ready)
      .kv("observedGeneration", s.meta.generation)
      .kv("updatedNumberScheduled", s.current)
      .kv("numberAvailable", s.ready);
  if (s.desired > s.ready) w.kv("numberUnavailable", s.desired - s.ready);
  w.end_object();
  d.finish();
  v.cells = {Cell::i(s.desired),          Cell::i(s.current), Cell::i(s.ready),
             Cell::i(s.current),          Cell::i(s.ready),   Cell::t("<none>"),
             Cell::age(s.meta.created),   Cell::t(s.app),     Cell::t(s.image),
             Cell::t(app_selector(s.app))};
  return v;
}

ObjectVersion render(const JobState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Job);
  d.begin_managed();
  d.managed(
      "kube-controller-manager", "batch/v1", s.meta.created,
      R"({"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{}},"f:ownerReferences":{}},"f:spec":{"f:backoffLimit":{},"f:completionMode":{},"f:completions":{},"f:parallelism":{},"f:template":{}}})");
  if (s.meta.updated > 0) {
    d.managed(
        "kube-controller-manager", "batch/v1", s.meta.updated,
        R"({"f:status":{"f:active":{},"f:completionTime":{},"f:conditions":{},"f:ready":{},"f:startTime":{},"f:succeeded":{},"f:terminating":{},"f:uncountedTerminatedPods":{}}})",
        "status");
  }
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object().kv("parallelism", 1).kv("completions", 1).kv("backoffLimit", 6);
  w.kv("completionMode", "NonIndexed")
      .kv("suspend", false)
      .kv("podReplacementPolicy", "TerminatingOrFailed");
  selector(w, s.app, {{"batch.kubernetes.io/controller-uid", s.meta.uid}});
  pod_template(w, s.app, s.image, {{"batch.kubernetes.io/job-name", s.meta.name}});
  w.end_object();
  w.key("status").begin_object();
  if (s.complete) {
    w.key("conditions").begin_array();
    condition(w, "SuccessCriteriaMet", "True", s.completion, "CompletionsReached",
              "Reached expected number of succeeded pods");
    condition(w, "Complete", "True", s.completion, "CompletionsReached",
              "Reached expected number of succeeded pods");
    w.end_array();
  }
  if (s.start > 0) w.kv("startTime", format_time(s.start));
  if (s.complete) w.kv("completionTime", format_time(s.completion));
  if (s.active > 0) w.kv("active", s.active);
  if (s.succeeded > 0) w.kv("succeeded", s.succeeded);
  w.kv("terminating", 0).raw(R"("uncountedTerminatedPods":{})").kv("ready", 0);
  w.end_object();
  d.finish();
  const SimTime dur = (s.complete ? s.completion : s.meta.updated) - s.start;
  v.cells = {Cell::t(s.complete ? "Complete" : "Running"),
             Cell::t(std::to_string(s.succeeded) + "/1"),
             Cell::t(format_age(dur > 0 ? dur : 0)),
             Cell::age(s.meta.created),
             Cell::t(s.app),
             Cell::t(s.image),
             Cell::t("batch.kubernetes.io/controller-uid=" + s.meta.uid)};
  return v;
}

ObjectVersion render(const CronJobState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::CronJob);
  d.begin_managed();
  d.managed(
      "kubectl-client-side-apply", "batch/v1", s.meta.created,
      R"({"f:spec":{"f:concurrencyPolicy":{},"f:failedJobsHistoryLimit":{},"f:jobTemplate":{},"f:schedule":{},"f:successfulJobsHistoryLimit":{},"f:suspend":{}}})");
  if (s.last_schedule > 0) {
    d.managed("kube-controller-manager", "batch/v1", s.meta.updated,
              R"({"f:status":{"f:active":{},"f:lastScheduleTime":{},"f:lastSuccessfulTime":{}}})",
              "status");
  }
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object().kv("schedule", s.schedule).kv("concurrencyPolicy", "Forbid");
  w.kv("suspend", false).key("jobTemplate").begin_object().key("spec").begin_object();
  w.kv("backoffLimit", 6);
  pod_template(w, s.app, s.image, {});
  w.end_object().end_object();
  w.kv("successfulJobsHistoryLimit", 3).kv("failedJobsHistoryLimit", 1);
  w.end_object();
  w.key("status").begin_object();
  if (!s.active.empty()) {
    w.key("active").begin_array();
    for (const auto& j : s.active) {
      w.begin_object()
          .kv("kind", "Job")
          .kv("namespace", s.meta.ns)
          .kv("name", j)
          .kv("apiVersion", "batch/v1")
          .end_object();
    }
    w.end_array();
  }
  if (s.last_schedule > 0) w.kv("lastScheduleTime", format_time(s.last_schedule));
  if (s.last_success > 0) w.kv("lastSuccessfulTime", format_time(s.last_success));
  w.end_object();
  d.finish();
  v.cells = {Cell::t(s.schedule),
             Cell::t("<none>"),
             Cell::t("False"),
             Cell::i(static_cast<int64_t>(s.active.size())),
             s.last_schedule > 0 ? Cell::age(s.last_schedule) : Cell::t("<none>"),
             Cell::age(s.meta.created),
             Cell::t(s.app),
             Cell::t(s.image),
             Cell::t("<none>")};
  return v;
}

ObjectVersion render(const ServiceState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Service);
  d.begin_managed();
  d.managed(
      "kubectl-client-side-apply", "v1", s.meta.created,
      R"({"f:spec":{"f:internalTrafficPolicy":{},"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}},"f:selector":{},"f:sessionAffinity":{},"f:type":{}}})");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  const std::string ip = s.headless ? "None" : s.cluster_ip;
  w.key("spec").begin_object();
  w.key("ports")
      .begin_array()
      .begin_object()
      .kv("name", "http")
      .kv("protocol", "TCP")
      .kv("port", s.port)
      .kv("targetPort", s.target_port)
      .end_object()
      .end_array();
  w.key("selector").begin_object().kv("app.kubernetes.io/name", s.app).end_object();
  w.kv("clusterIP", ip).key("clusterIPs").begin_array().str(ip).end_array();
  w.kv("type", s.type).kv("sessionAffinity", "None");
  w.key("ipFamilies").begin_array().str("IPv4").end_array();
  w.kv("ipFamilyPolicy", "SingleStack").kv("internalTrafficPolicy", "Cluster");
  w.end_object();
  w.key("status").begin_object().raw(R"("loadBalancer":{})").end_object();
  d.finish();
  v.cells = {Cell::t(s.type),           Cell::t(ip),
             Cell::t("<none>"),         Cell::t(std::to_string(s.port) + "/TCP"),
             Cell::age(s.meta.created), Cell::t(app_selector(s.app))};
  return v;
}

ObjectVersion render(const EndpointsState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Endpoints);
  d.begin_managed();
  d.managed(
      "kube-controller-manager", "v1", s.meta.updated > 0 ? s.meta.updated : s.meta.created,
      R"({"f:metadata":{"f:annotations":{".":{},"f:endpoints.kubernetes.io/last-change-trigger-time":{}},"f:labels":{".":{},"f:app.kubernetes.io/name":{}}},"f:subsets":{}})");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  std::string summary;
  if (!s.ready.empty() || !s.not_ready.empty()) {
    w.key("subsets").begin_array().begin_object();
    auto addrs = [&](const char* key, const std::vector<EndpointAddress>& list) {
      if (list.empty()) return;
      w.key(key).begin_array();
      for (const auto& a : list) {
        w.begin_object().kv("ip", a.ip).kv("nodeName", a.node);
        w.key("targetRef")
            .begin_object()
            .kv("kind", "Pod")
            .kv("namespace", s.meta.ns)
            .kv("name", a.pod)
            .kv("uid", a.pod_uid)
            .end_object();
        w.end_object();
      }
      w.end_array();
    };
    addrs("addresses", s.ready);
    addrs("notReadyAddresses", s.not_ready);
    w.key("ports")
        .begin_array()
        .begin_object()
        .kv("name", "http")
        .kv("port", s.port)
        .kv("protocol", "TCP")
        .end_object()
        .end_array();
    w.end_object().end_array();
    for (size_t i = 0; i < s.ready.size() && i < 3; ++i) {
      if (!summary.empty()) summary += ',';
      summary += s.ready[i].ip + ":" + std::to_string(s.port);
    }
    if (s.ready.size() > 3) summary += " + " + std::to_string(s.ready.size() - 3) + " more...";
  }
  d.finish();
  v.cells = {Cell::t(summary.empty() ? "<none>" : summary), Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const ConfigMapState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::ConfigMap);
  d.begin_managed();
  d.managed("kubectl-client-side-apply", "v1", s.meta.updated > 0 ? s.meta.updated : s.meta.created,
            R"({"f:data":{}})");
  d.end_managed();
  d.end_meta();
  d.write_map("data", s.data);
  d.finish();
  v.cells = {Cell::i(static_cast<int64_t>(s.data.size())), Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const PersistentVolumeState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::PersistentVolume);
  d.begin_managed();
  d.managed(
      "csi-provisioner", "v1", s.meta.created,
      R"({"f:metadata":{"f:annotations":{".":{},"f:pv.kubernetes.io/provisioned-by":{}}},"f:spec":{"f:accessModes":{},"f:capacity":{},"f:claimRef":{},"f:csi":{},"f:nodeAffinity":{},"f:persistentVolumeReclaimPolicy":{},"f:storageClassName":{},"f:volumeMode":{}}})");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object();
  w.key("capacity").begin_object().kv("storage", s.capacity).end_object();
  w.key("csi")
      .begin_object()
      .kv("driver", "ebs.csi.aws.com")
      .kv("fsType", "ext4")
      .kv("volumeHandle", "vol-0" + hex_id(s.meta.name, 16))
      .end_object();
  w.key("accessModes").begin_array().str("ReadWriteOnce").end_array();
  w.key("claimRef")
      .begin_object()
      .kv("kind", "PersistentVolumeClaim")
      .kv("namespace", s.claim_ns)
      .kv("name", s.claim_name)
      .kv("uid", s.claim_uid)
      .kv("apiVersion", "v1")
      .end_object();
  w.kv("persistentVolumeReclaimPolicy", "Delete")
      .kv("storageClassName", s.storage_class)
      .kv("volumeMode", "Filesystem");
  w.end_object();
  w.key("status").begin_object().kv("phase", s.phase);
  w.kv("lastPhaseTransitionTime", format_time(s.meta.created)).end_object();
  d.finish();
  v.cells = {Cell::t(s.capacity),
             Cell::t("RWO"),
             Cell::t("Delete"),
             Cell::t(s.phase),
             Cell::t(s.claim_ns + "/" + s.claim_name),
             Cell::t(s.storage_class),
             Cell::t(""),
             Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const PersistentVolumeClaimState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::PersistentVolumeClaim);
  d.begin_managed();
  d.managed(
      "kube-controller-manager", "v1", s.meta.created,
      R"({"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{}}},"f:spec":{"f:accessModes":{},"f:resources":{"f:requests":{".":{},"f:storage":{}}},"f:storageClassName":{},"f:volumeMode":{}}})");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object();
  w.key("accessModes").begin_array().str("ReadWriteOnce").end_array();
  w.key("resources")
      .begin_object()
      .key("requests")
      .begin_object()
      .kv("storage", s.capacity)
      .end_object()
      .end_object();
  w.kv("volumeName", s.volume)
      .kv("storageClassName", s.storage_class)
      .kv("volumeMode", "Filesystem");
  w.end_object();
  w.key("status").begin_object().kv("phase", s.phase);
  w.key("accessModes").begin_array().str("ReadWriteOnce").end_array();
  w.key("capacity").begin_object().kv("storage", s.capacity).end_object();
  w.end_object();
  d.finish();
  v.cells = {Cell::t(s.phase), Cell::t(s.volume),        Cell::t(s.capacity),
             Cell::t("RWO"),   Cell::t(s.storage_class), Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const HpaState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::HorizontalPodAutoscaler);
  d.begin_managed();
  d.managed(
      "kubectl-client-side-apply", "autoscaling/v2", s.meta.created,
      R"({"f:spec":{"f:maxReplicas":{},"f:metrics":{},"f:minReplicas":{},"f:scaleTargetRef":{}}})");
  d.managed(
      "kube-controller-manager", "autoscaling/v2",
      s.meta.updated > 0 ? s.meta.updated : s.meta.created,
      R"({"f:status":{"f:conditions":{},"f:currentMetrics":{},"f:currentReplicas":{},"f:desiredReplicas":{},"f:lastScaleTime":{}}})",
      "status");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  w.key("spec").begin_object();
  w.key("scaleTargetRef")
      .begin_object()
      .kv("kind", "Deployment")
      .kv("name", s.target)
      .kv("apiVersion", "apps/v1")
      .end_object();
  w.kv("minReplicas", s.min).kv("maxReplicas", s.max);
  w.raw(
      R"("metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":)" +
      std::to_string(s.target_cpu) + "}}}]");
  w.end_object();
  w.key("status").begin_object();
  if (s.last_scale > 0) w.kv("lastScaleTime", format_time(s.last_scale));
  w.kv("currentReplicas", s.current).kv("desiredReplicas", s.desired);
  w.raw(
      R"("currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageValue":")" +
      std::to_string(s.current_cpu * 2) + R"(m","averageUtilization":)" +
      std::to_string(s.current_cpu) + "}}}]");
  w.key("conditions").begin_array();
  const SimTime t = s.meta.updated > 0 ? s.meta.updated : s.meta.created;
  condition(w, "AbleToScale", "True", s.meta.created, "ReadyForNewScale",
            "recommended size matches current size");
  condition(w, "ScalingActive", "True", s.meta.created, "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource "
            "utilization (percentage of request)");
  condition(w, "ScalingLimited", "False", t, "DesiredWithinRange",
            "the desired count is within the acceptable range");
  w.end_array();
  w.end_object();
  d.finish();
  v.cells = {
      Cell::t("Deployment/" + s.target),
      Cell::t("cpu: " + std::to_string(s.current_cpu) + "%/" + std::to_string(s.target_cpu) + "%"),
      Cell::i(s.min),
      Cell::i(s.max),
      Cell::i(s.current),
      Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const LeaseState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Lease);
  d.begin_managed();
  d.managed(
      s.meta.ns == "kube-node-lease" ? "kubelet" : "kube-controller-manager",
      "coordination.k8s.io/v1", s.renew,
      R"({"f:metadata":{"f:ownerReferences":{}},"f:spec":{"f:holderIdentity":{},"f:leaseDurationSeconds":{},"f:renewTime":{}}})");
  d.end_managed();
  d.end_meta();
  d.w.key("spec")
      .begin_object()
      .kv("holderIdentity", s.holder)
      .kv("leaseDurationSeconds", s.duration_seconds);
  if (s.acquire > 0) d.w.kv("acquireTime", format_micro_time(s.acquire));
  d.w.kv("renewTime", format_micro_time(s.renew));
  if (s.transitions > 0) d.w.kv("leaseTransitions", s.transitions);
  d.w.end_object();
  d.finish();
  v.cells = {Cell::t(s.holder), Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const CrdState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::CustomResourceDefinition);
  d.begin_managed();
  d.managed(
      "kubectl-client-side-apply", "apiextensions.k8s.io/v1", s.meta.created,
      R"({"f:spec":{"f:conversion":{},"f:group":{},"f:names":{},"f:scope":{},"f:versions":{}}})");
  d.managed("kube-apiserver", "apiextensions.k8s.io/v1", s.meta.created,
            R"({"f:status":{"f:acceptedNames":{},"f:conditions":{},"f:storedVersions":{}}})",
            "status");
  d.end_managed();
  d.end_meta();
  const std::string t = format_time(s.meta.created);
  d.w.raw(
      R"("spec":{"group":"example.com","names":{"plural":"widgets","singular":"widget","shortNames":["wg"],"kind":"Widget","listKind":"WidgetList","categories":["all"]},"scope":"Namespaced","versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"},"color":{"type":"string"}}},"status":{"type":"object","properties":{"phase":{"type":"string"},"observedGeneration":{"type":"integer"}}}}}},"subresources":{"status":{}},"additionalPrinterColumns":[{"name":"Size","type":"integer","jsonPath":".spec.size"},{"name":"Phase","type":"string","jsonPath":".status.phase"},{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}]}],"conversion":{"strategy":"None"}})");
  d.w.raw(
      R"("status":{"conditions":[{"type":"NamesAccepted","status":"True","lastTransitionTime":")" +
      t +
      R"(","reason":"NoConflicts","message":"no conflicts found"},{"type":"Established","status":"True","lastTransitionTime":")" +
      t +
      R"(","reason":"InitialNamesAccepted","message":"the initial names have been accepted"}],"acceptedNames":{"plural":"widgets","singular":"widget","shortNames":["wg"],"kind":"Widget","listKind":"WidgetList","categories":["all"]},"storedVersions":["v1"]})");
  d.finish();
  v.cells = {Cell::t(t)};
  return v;
}

ObjectVersion render(const WidgetState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Widget);
  d.begin_managed();
  d.managed("kubectl-client-side-apply", "example.com/v1", s.meta.created,
            R"({"f:spec":{".":{},"f:color":{},"f:size":{}}})");
  if (s.observed_generation > 0) {
    d.managed("widget-controller", "example.com/v1", s.meta.updated,
              R"({"f:status":{".":{},"f:observedGeneration":{},"f:phase":{}}})", "status");
  }
  d.end_managed();
  d.end_meta();
  d.w.key("spec").begin_object().kv("color", s.color).kv("size", s.size).end_object();
  d.w.key("status").begin_object().kv("observedGeneration", s.observed_generation);
  d.w.kv("phase", s.phase).end_object();
  d.finish();
  v.cells = {Cell::i(s.size), Cell::t(s.phase), Cell::age(s.meta.created)};
  return v;
}

ObjectVersion render(const EventState& s) {
  ObjectVersion v;
  Doc d(v, s.meta, Kind::Event);
  d.begin_managed();
  d.managed(
      s.component, "v1", s.last,
      R"({"f:count":{},"f:firstTimestamp":{},"f:involvedObject":{},"f:lastTimestamp":{},"f:message":{},"f:reason":{},"f:reportingComponent":{},"f:reportingInstance":{},"f:source":{"f:component":{},"f:host":{}},"f:type":{}})");
  d.end_managed();
  d.end_meta();
  auto& w = d.w;
  const ResourceType& it = resource_type(s.involved_kind);
  w.key("involvedObject").begin_object().kv("kind", it.kind_name);
  if (!s.involved_ns.empty()) w.kv("namespace", s.involved_ns);
  w.kv("name", s.involved_name).kv("uid", s.involved_uid).kv("apiVersion", it.api_version());
  if (s.involved_rv > 0) w.kv("resourceVersion", std::to_string(s.involved_rv));
  if (!s.field_path.empty()) w.kv("fieldPath", s.field_path);
  w.end_object();
  w.kv("reason", s.reason).kv("message", s.message);
  w.key("source").begin_object().kv("component", s.component);
  if (!s.host.empty()) w.kv("host", s.host);
  w.end_object();
  w.kv("firstTimestamp", format_time(s.first)).kv("lastTimestamp", format_time(s.last));
  w.kv("count", s.count).kv("type", s.type).key("eventTime").null();
  w.kv("reportingComponent", s.component).kv("reportingInstance", s.host);
  d.finish();
  std::string obj = std::string(it.singular) + "/" + s.involved_name;
  v.fields = {{"involvedObject.kind", std::string(it.kind_name)},
              {"involvedObject.namespace", s.involved_ns},
              {"involvedObject.name", s.involved_name},
              {"involvedObject.uid", s.involved_uid},
              {"involvedObject.apiVersion", it.api_version()},
              {"involvedObject.fieldPath", s.field_path},
              {"reason", s.reason},
              {"type", s.type},
              {"source", s.component},
              {"reportingComponent", s.component}};
  v.cells = {Cell::age(s.last),     Cell::t(s.type),
             Cell::t(s.reason),     Cell::t(obj),
             Cell::t(s.field_path), Cell::t(s.component + (s.host.empty() ? "" : ", " + s.host)),
             Cell::t(s.message),    Cell::age(s.first),
             Cell::i(s.count)};
  return v;
}

}  // namespace kubesim
