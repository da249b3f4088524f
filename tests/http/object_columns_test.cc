// The snapshot table's columns: kubectl's printers' answers for the fixtures (tests/testdata/k8s)
// and for hand-made objects in the states an on-call engineer looks for.
#include "http/object_columns.h"

#include <gtest/gtest.h>

#include "base/time_text.h"
#include "index/object_meta.h"
#include "tests/engine/record_maker.h"

namespace sloop::http {
namespace {

using sloop::testing::ReadFixture;
using Cells = std::vector<std::string>;

constexpr int64_t kSec = 1000000000LL;

int64_t T(std::string_view rfc3339) {
  int64_t ns = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &ns)) << rfc3339;
  return ns;
}

std::vector<std::string> Columns(std::string_view kind) {
  auto c = ObjectColumns::Columns(kind);
  return {c.begin(), c.end()};
}

// A pod created at 09:00 with the given status (JSON object text) and optional extras.
std::string Pod(std::string_view status, std::string_view metadata_extra = "",
                std::string_view spec_extra = "") {
  return R"({"kind":"Pod","metadata":{"name":"p","creationTimestamp":"2026-11-20T09:00:00Z")" +
         std::string(metadata_extra) + R"(},"spec":{"nodeName":"node-1",)" +
         std::string(spec_extra) + R"("containers":[{"name":"a"},{"name":"b"}]},"status":)" +
         std::string(status) + "}";
}

TEST(ShortAge, FollowsKubectlsHumanDuration) {
  EXPECT_EQ(ShortAge(0), "0s");
  EXPECT_EQ(ShortAge(-kSec / 2), "0s");
  EXPECT_EQ(ShortAge(-5 * kSec), "<invalid>");
  EXPECT_EQ(ShortAge(45 * kSec), "45s");
  EXPECT_EQ(ShortAge(119 * kSec), "119s");
  EXPECT_EQ(ShortAge(300 * kSec), "5m");
  EXPECT_EQ(ShortAge(330 * kSec), "5m30s");
  EXPECT_EQ(ShortAge(45 * 60 * kSec), "45m");
  EXPECT_EQ(ShortAge((3 * 3600 + 2 * 60) * kSec), "3h2m");
  EXPECT_EQ(ShortAge(5 * 3600 * kSec), "5h");
  EXPECT_EQ(ShortAge(20 * 3600 * kSec), "20h");
  EXPECT_EQ(ShortAge((2 * 86400 + 5 * 3600) * kSec), "2d5h");
  EXPECT_EQ(ShortAge(3 * 86400 * kSec), "3d");
  EXPECT_EQ(ShortAge(10 * 86400 * kSec), "10d");
  EXPECT_EQ(ShortAge(int64_t(800) * 86400 * kSec), "2y70d");
  EXPECT_EQ(ShortAge(int64_t(9) * 365 * 86400 * kSec), "9y");
}

TEST(ObjectColumns, ColumnsPerKind) {
  EXPECT_EQ(Columns("Pod"),
            (std::vector<std::string>{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"}));
  EXPECT_EQ(Columns("Deployment"),
            (std::vector<std::string>{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}));
  EXPECT_EQ(Columns("ReplicaSet"),
            (std::vector<std::string>{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}));
  EXPECT_EQ(Columns("StatefulSet"), (std::vector<std::string>{"NAME", "READY", "AGE"}));
  EXPECT_EQ(Columns("DaemonSet"), (std::vector<std::string>{"NAME", "DESIRED", "CURRENT", "READY",
                                                            "UP-TO-DATE", "AVAILABLE", "AGE"}));
  EXPECT_EQ(Columns("Job"), (std::vector<std::string>{"NAME", "COMPLETIONS", "AGE"}));
  EXPECT_EQ(Columns("Node"),
            (std::vector<std::string>{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}));
  EXPECT_EQ(Columns("Service"),
            (std::vector<std::string>{"NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "AGE"}));
  EXPECT_EQ(Columns("ConfigMap"), (std::vector<std::string>{"NAME", "AGE"}));
}

TEST(ObjectColumns, Fixtures) {
  ObjectColumns c;
  const int64_t at = T("2026-11-20T10:00:00Z");
  EXPECT_EQ(c.Cells("Pod", "checkout-7d9f8c6b5d-x2k4q", ReadFixture("pod.json"), at),
            (Cells{"checkout-7d9f8c6b5d-x2k4q", "1/1", "Running", "0", "45m", "10.42.19.88",
                   "ip-10-42-17-203.ec2.internal"}));
  EXPECT_EQ(c.Cells("Node", "n", ReadFixture("node.json"), at),
            (Cells{"n", "Ready", "<none>", "18d", "v1.31.2-eks-7f9249a"}));
  EXPECT_EQ(c.Cells("Deployment", "checkout", ReadFixture("deployment.json"), at),
            (Cells{"checkout", "3/3", "3", "3", "161d"}));
  EXPECT_EQ(c.Cells("Event", "e", ReadFixture("event.json"), at).size(), 2u);
}

TEST(ObjectColumns, PodStatusFollowsKubectl) {
  ObjectColumns c;
  const int64_t at = T("2026-11-20T09:05:00Z");
  struct Case {
    std::string name, pod;
    Cells want;
  };
  const std::vector<Case> cases = {
      {"crashlooping",
       Pod(R"({"phase":"Running","podIP":"10.1.2.3","containerStatuses":[
             {"name":"a","ready":true,"restartCount":0,"state":{"running":{}}},
             {"name":"b","ready":false,"restartCount":7,
              "state":{"waiting":{"reason":"CrashLoopBackOff"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error"}}}]})"),
       {"p", "1/2", "CrashLoopBackOff", "7", "5m", "10.1.2.3", "node-1"}},
      {"image pull",
       Pod(R"({"phase":"Pending","containerStatuses":[
             {"name":"a","ready":false,"restartCount":0,
              "state":{"waiting":{"reason":"ImagePullBackOff"}}}]})"),
       {"p", "0/2", "ImagePullBackOff", "0", "5m", "<none>", "node-1"}},
      {"terminating",
       Pod(R"({"phase":"Running","podIP":"10.1.2.3","containerStatuses":[
             {"name":"a","ready":true,"restartCount":1,"state":{"running":{}}},
             {"name":"b","ready":true,"restartCount":0,"state":{"running":{}}}]})",
           R"(,"deletionTimestamp":"2026-11-20T09:04:00Z")"),
       {"p", "2/2", "Terminating", "1", "5m", "10.1.2.3", "node-1"}},
      {"completed",
       Pod(R"({"phase":"Succeeded","containerStatuses":[
             {"name":"a","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
             {"name":"b","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]})"),
       {"p", "0/2", "Completed", "0", "5m", "<none>", "node-1"}},
      {"error without reason",
       Pod(R"({"phase":"Failed","containerStatuses":[
             {"name":"a","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":137}}}]})"),
       {"p", "0/2", "ExitCode:137", "0", "5m", "<none>", "node-1"}},
      {"error",
       Pod(R"({"phase":"Failed","containerStatuses":[
             {"name":"a","ready":false,"restartCount":2,
              "state":{"terminated":{"exitCode":1,"reason":"Error"}}}]})"),
       {"p", "0/2", "Error", "2", "5m", "<none>", "node-1"}},
      {"completed sidecar, main running",
       Pod(R"({"phase":"Running","conditions":[{"type":"Ready","status":"True"}],
             "containerStatuses":[
             {"name":"a","ready":true,"restartCount":0,"state":{"running":{}}},
             {"name":"b","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]})"),
       {"p", "1/2", "Running", "0", "5m", "<none>", "node-1"}},
      {"init waiting",
       Pod(R"({"phase":"Pending","initContainerStatuses":[
             {"name":"i0","restartCount":0,"state":{"terminated":{"exitCode":0}}},
             {"name":"i1","restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}],
             "containerStatuses":[{"name":"a","ready":false,"restartCount":0,
              "state":{"waiting":{"reason":"PodInitializing"}}}]})",
           "", R"("initContainers":[{"name":"i0"},{"name":"i1"}],)"),
       {"p", "0/2", "Init:CrashLoopBackOff", "3", "5m", "<none>", "node-1"}},
      {"init running",
       Pod(R"({"phase":"Pending","initContainerStatuses":[
             {"name":"i0","restartCount":0,"state":{"terminated":{"exitCode":0}}},
             {"name":"i1","restartCount":0,"state":{"running":{}}}]})",
           "", R"("initContainers":[{"name":"i0"},{"name":"i1"}],)"),
       {"p", "0/2", "Init:1/2", "0", "5m", "<none>", "node-1"}},
      {"evicted",
       Pod(R"({"phase":"Failed","reason":"Evicted"})"),
       {"p", "0/2", "Evicted", "0", "5m", "<none>", "node-1"}},
      {"pending, unscheduled",
       Pod(R"({"phase":"Pending"})"),
       {"p", "0/2", "Pending", "0", "5m", "<none>", "node-1"}},
  };
  for (const Case& k : cases) {
    EXPECT_EQ(c.Cells("Pod", "p", k.pod, at), k.want) << k.name;
  }
}

TEST(ObjectColumns, Nodes) {
  ObjectColumns c;
  const int64_t at = T("2026-11-22T09:00:00Z");
  auto node = [](std::string_view ready, std::string_view extra_spec, std::string_view labels) {
    return R"({"metadata":{"name":"n","creationTimestamp":"2026-11-20T09:00:00Z","labels":{)" +
           std::string(labels) + R"(}},"spec":{)" + std::string(extra_spec) +
           R"(},"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":")" +
           std::string(ready) + R"("}],"nodeInfo":{"kubeletVersion":"v1.31.2"}}})";
  };
  EXPECT_EQ(c.Cells("Node", "n", node("False", "", ""), at),
            (Cells{"n", "NotReady", "<none>", "2d", "v1.31.2"}));
  EXPECT_EQ(c.Cells("Node", "n", node("Unknown", "", ""), at),
            (Cells{"n", "NotReady", "<none>", "2d", "v1.31.2"}));
  EXPECT_EQ(
      c.Cells(
          "Node", "n",
          node("True", R"("unschedulable":true)",
               R"("node-role.kubernetes.io/worker":"","node-role.kubernetes.io/control-plane":"")"),
          at),
      (Cells{"n", "Ready,SchedulingDisabled", "control-plane,worker", "2d", "v1.31.2"}));
}

TEST(ObjectColumns, WorkloadsJobsServicesAndOthers) {
  ObjectColumns c;
  const int64_t at = T("2026-11-20T12:02:00Z");
  const std::string meta = R"("metadata":{"name":"x","creationTimestamp":"2026-11-20T09:00:00Z"})";
  EXPECT_EQ(
      c.Cells("ReplicaSet", "x",
              "{" + meta + R"(,"spec":{"replicas":3},"status":{"replicas":3,"readyReplicas":2}})",
              at),
      (Cells{"x", "3", "3", "2", "3h2m"}));
  EXPECT_EQ(c.Cells("StatefulSet", "x",
                    "{" + meta + R"(,"spec":{"replicas":3},"status":{"readyReplicas":1}})", at),
            (Cells{"x", "1/3", "3h2m"}));
  EXPECT_EQ(
      c.Cells(
          "DaemonSet", "x",
          "{" + meta +
              R"(,"status":{"desiredNumberScheduled":5,"currentNumberScheduled":5,"numberReady":4,"updatedNumberScheduled":3,"numberAvailable":4}})",
          at),
      (Cells{"x", "5", "5", "4", "3", "4", "3h2m"}));
  EXPECT_EQ(c.Cells("Job", "x",
                    "{" + meta + R"(,"spec":{"completions":5},"status":{"succeeded":2}})", at),
            (Cells{"x", "2/5", "3h2m"}));
  EXPECT_EQ(c.Cells("Job", "x", "{" + meta + R"(,"spec":{"parallelism":1},"status":{}})", at),
            (Cells{"x", "0/1", "3h2m"}));
  EXPECT_EQ(c.Cells("Job", "x",
                    "{" + meta + R"(,"spec":{"parallelism":3},"status":{"succeeded":1}})", at),
            (Cells{"x", "1/1 of 3", "3h2m"}));
  EXPECT_EQ(
      c.Cells(
          "Service", "x",
          "{" + meta +
              R"(,"spec":{"type":"NodePort","clusterIP":"10.0.0.7","ports":[{"port":80,"nodePort":30080,"protocol":"TCP"},{"port":53,"protocol":"UDP"}]}})",
          at),
      (Cells{"x", "NodePort", "10.0.0.7", "80:30080/TCP,53/UDP", "3h2m"}));
  EXPECT_EQ(c.Cells("Service", "x", "{" + meta + R"(,"spec":{"clusterIP":"None"}})", at),
            (Cells{"x", "ClusterIP", "None", "<none>", "3h2m"}));
  EXPECT_EQ(c.Cells("ConfigMap", "x", "{" + meta + "}", at), (Cells{"x", "3h2m"}));
}

TEST(ObjectColumns, UnreadableOrBareObjects) {
  ObjectColumns c;
  const int64_t at = T("2026-11-20T09:10:00Z");
  // Not JSON: the name, and the age from the index's creation time when there is one.
  EXPECT_EQ(c.Cells("Pod", "p", "not json", at, T("2026-11-20T09:00:00Z")),
            (Cells{"p", "", "", "", "10m", "", ""}));
  EXPECT_EQ(c.Cells("ConfigMap", "x", "", at), (Cells{"x", "<unknown>"}));
  // JSON without status or spec: defaults, never a crash.
  EXPECT_EQ(c.Cells("Pod", "p", "{}", at),
            (Cells{"p", "0/0", "", "0", "<unknown>", "<none>", "<none>"}));
  EXPECT_EQ(c.Cells("Deployment", "d", R"({"spec":null,"status":[]})", at),
            (Cells{"d", "0/1", "0", "0", "<unknown>"}));
  EXPECT_EQ(c.Cells("Node", "n", "[1,2]", at), (Cells{"n", "", "", "<unknown>", ""}));
}

}  // namespace
}  // namespace sloop::http
