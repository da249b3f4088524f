#include "ingest/exclusion_rules.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace sloop {
namespace {

namespace dom = simdjson::dom;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(SLOOP_FIXTURES_DIR) + "/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "cannot read fixture " << name;
  return text.str();
}

// Replaces the first `from` in text with `to`.
std::string With(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// A parsed Kubernetes object (the parser owns the document its element points into).
struct Object {
  explicit Object(const std::string& json) {
    EXPECT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json.substr(0, 200);
    std::string_view k;
    if (!root["kind"].get(k)) kind = k;
  }
  dom::parser parser;
  dom::element root;
  std::string kind;
};

ExclusionRules Rules(const std::string& json) {
  Result<ExclusionRules> rules = ExclusionRules::FromConfig(json);
  EXPECT_TRUE(rules) << rules.error().message;
  return rules ? std::move(*rules) : ExclusionRules();
}

bool Excluded(const ExclusionRules& rules, const Object& o) {
  return rules.ShouldExclude(o.kind, o.root);
}

class ExclusionRulesTest : public ::testing::Test {
 protected:
  Object pod{Fixture("pod.json")};
  Object event{Fixture("event.json")};
  Object node{Fixture("node.json")};
  Object deployment{Fixture("deployment.json")};
  Object system_pod{With(Fixture("pod.json"), R"("namespace": "shop")",
                         R"("namespace": "kube-system")")};
  Object system_deployment{With(Fixture("deployment.json"), R"("namespace": "shop")",
                                R"("namespace": "kube-system")")};
};

TEST_F(ExclusionRulesTest, NoRulesExcludeNothing) {
  for (const char* config : {"{}", "null", R"({"Pod": [], "_all": []})"}) {
    const ExclusionRules rules = Rules(config);
    EXPECT_TRUE(rules.empty()) << config;
    EXPECT_FALSE(Excluded(rules, pod)) << config;
    EXPECT_FALSE(Excluded(rules, event)) << config;
  }
  EXPECT_FALSE(Excluded(ExclusionRules(), pod));
}

TEST_F(ExclusionRulesTest, AllRulesDropKubeSystemOfEveryKind) {
  const ExclusionRules rules =
      Rules(R"({"_all": [{"==": [{"var": "metadata.namespace"}, "kube-system"]}]})");
  EXPECT_EQ(rules.size(), 1u);
  EXPECT_TRUE(Excluded(rules, system_pod));
  EXPECT_TRUE(Excluded(rules, system_deployment));
  EXPECT_FALSE(Excluded(rules, pod));
  EXPECT_FALSE(Excluded(rules, deployment));
  EXPECT_FALSE(Excluded(rules, node));  // cluster-scoped: no namespace at all
  EXPECT_FALSE(Excluded(rules, event));
}

TEST_F(ExclusionRulesTest, EventsAreDroppedByReason) {
  const ExclusionRules rules =
      Rules(R"({"Event": [{"in": [{"var": "reason"}, ["Pulled", "Pulling", "Created"]]}]})");
  EXPECT_TRUE(Excluded(rules, event));
  const Object scheduled(With(Fixture("event.json"), R"("reason": "Pulled")",
                              R"("reason": "Scheduled")"));
  EXPECT_FALSE(Excluded(rules, scheduled));
  // Warnings only, whatever the reason.
  const ExclusionRules normal_only = Rules(R"({"Event": [{"!==": [{"var": "type"}, "Warning"]}]})");
  EXPECT_TRUE(Excluded(normal_only, event));
  EXPECT_FALSE(Excluded(normal_only, Object(With(Fixture("event.json"), R"("type": "Normal")",
                                                 R"("type": "Warning")"))));
}

TEST_F(ExclusionRulesTest, KindRulesApplyToThatKindOnly) {
  // Every fixture but the node is in namespace "shop"; only the Pod rule's kind is affected.
  const ExclusionRules rules = Rules(R"({"Pod": [{"==": [{"var": "metadata.namespace"}, "shop"]}]})");
  EXPECT_TRUE(Excluded(rules, pod));
  EXPECT_FALSE(Excluded(rules, deployment));
  EXPECT_FALSE(Excluded(rules, event));
  EXPECT_FALSE(rules.ShouldExclude("pod", pod.root));  // kinds match exactly, case included
  EXPECT_FALSE(rules.ShouldExclude("ReplicaSet", pod.root));
  EXPECT_EQ(rules.RulesFor("Pod"), 1u);
  EXPECT_EQ(rules.RulesFor("Deployment"), 0u);
}

TEST_F(ExclusionRulesTest, KindRulesRunBeforeAllRules) {
  const ExclusionRules rules = Rules(R"({
      "_all": [false, {"!!": {"var": "metadata.uid"}}],
      "Pod": [{"==": [{"var": "spec.nodeName"}, "nope"]}, {"==": [{"var": "kind"}, "Pod"]}]})");
  EXPECT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules.RulesFor("Pod"), 4u);
  EXPECT_EQ(rules.RulesFor("Node"), 2u);
  const JsonLogic* match = rules.FirstMatch(pod.kind, pod.root);
  ASSERT_NE(match, nullptr);
  EXPECT_EQ(match->path(), "exclusionRules.Pod[1]");
  match = rules.FirstMatch(deployment.kind, deployment.root);
  ASSERT_NE(match, nullptr);
  EXPECT_EQ(match->path(), "exclusionRules._all[1]");
}

TEST_F(ExclusionRulesTest, SloopReadmeExample) {
  // The example of Sloop's README: kube-system for every kind, one Pod, two Jobs.
  const ExclusionRules rules = Rules(R"({
      "_all": [{"==": [{"var": "metadata.namespace"}, "kube-system"]}],
      "Pod": [{"==": [{"var": "metadata.name"}, "sloop-0"]}],
      "Job": [{"in": [{"var": "metadata.name"}, ["cron1", "cron3"]]}]})");
  auto job = [](const char* name) {
    return std::string(R"({"kind": "Job", "metadata": {"name": ")") + name +
           R"(", "namespace": "batch"}})";
  };
  EXPECT_TRUE(Excluded(rules, Object(job("cron1"))));
  EXPECT_TRUE(Excluded(rules, Object(job("cron3"))));
  EXPECT_FALSE(Excluded(rules, Object(job("cron2"))));
  EXPECT_TRUE(Excluded(
      rules, Object(With(Fixture("pod.json"), R"("checkout-7d9f8c6b5d-x2k4q")", R"("sloop-0")"))));
  EXPECT_FALSE(Excluded(rules, pod));
  EXPECT_TRUE(Excluded(rules, system_pod));
  EXPECT_FALSE(Excluded(rules, Object(With(job("sloop-0"), "Job", "Deployment"))));
}

TEST_F(ExclusionRulesTest, LabelAndAnnotationKeysWithDotsCanBeMatched) {
  const ExclusionRules rules = Rules(R"({
      "_all": [{"in": [{"var": "metadata.labels.app.kubernetes.io/part-of"}, ["billing", "shop"]]}],
      "Node": [{"==": [{"var": "metadata.labels.kubernetes.io/os"}, "windows"]}]})");
  EXPECT_TRUE(Excluded(rules, pod));
  EXPECT_TRUE(Excluded(rules, deployment));
  EXPECT_FALSE(Excluded(rules, node));
  EXPECT_FALSE(Excluded(rules, event));
  const ExclusionRules scraped =
      Rules(R"({"Pod": [{"==": [{"var": "metadata.annotations.prometheus.io/scrape"}, "true"]}]})");
  EXPECT_TRUE(Excluded(scraped, pod));
}

TEST_F(ExclusionRulesTest, RulesCanLookInsideListsOfTheObject) {
  const ExclusionRules rules = Rules(R"({
      "Pod": [{"some": [{"var": "spec.containers"},
                        {"in": ["registry.example.com/shop/", {"var": "image"}]}]}],
      "Deployment": [{"all": [{"var": "status.conditions"},
                              {"==": [{"var": "status"}, "True"]}]}],
      "Node": [{"some": [{"var": "status.conditions"},
                         {"and": [{"==": [{"var": "type"}, "Ready"]},
                                  {"!=": [{"var": "status"}, "True"]}]}]}]})");
  EXPECT_TRUE(Excluded(rules, pod));
  EXPECT_TRUE(Excluded(rules, deployment));
  EXPECT_FALSE(Excluded(rules, node));  // its Ready condition is True
  EXPECT_FALSE(
      Excluded(rules, Object(With(Fixture("pod.json"), "registry.example.com/shop/checkout",
                                  "docker.io/library/nginx"))));
}

TEST_F(ExclusionRulesTest, EveryWatchEventOfAnExcludedObjectIsDropped) {
  // ADDED, MODIFIED and DELETED alike: an excluded object leaves no trace.
  const ExclusionRules rules = Rules(R"({"Pod": [{"==": [{"var": "metadata.name"},
                                                         "checkout-7d9f8c6b5d-x2k4q"]}]})");
  std::ifstream frames(std::string(SLOOP_FIXTURES_DIR) + "/watch-frames.ndjson");
  std::string line;
  int excluded = 0;
  int kept = 0;
  dom::parser parser;
  while (std::getline(frames, line)) {
    dom::element frame;
    ASSERT_EQ(parser.parse(line).get(frame), simdjson::SUCCESS);
    std::string_view type;
    std::string_view kind;
    ASSERT_EQ(frame["type"].get(type), simdjson::SUCCESS);
    const dom::element object = frame["object"].value();
    if (object["kind"].get(kind)) kind = "";
    if (rules.ShouldExclude(kind, object)) {
      ++excluded;
      EXPECT_TRUE(type == "ADDED" || type == "MODIFIED" || type == "DELETED") << type;
    } else {
      ++kept;
    }
  }
  EXPECT_EQ(excluded, 3);
  EXPECT_EQ(kept, 2);  // the BOOKMARK and the ERROR frame
}

TEST(ExclusionRulesConfig, AnInvalidRuleIsRefusedWithItsPath) {
  Result<ExclusionRules> rules = ExclusionRules::FromConfig(
      R"({"_all": [true], "Pod": [{"==": [1, 1]}, {"==": [1, 1]}, {"foo": []}]})");
  ASSERT_FALSE(rules);
  EXPECT_EQ(rules.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(rules.error().message.starts_with(R"(exclusionRules.Pod[2]: unknown operator "foo")"))
      << rules.error().message;

  rules = ExclusionRules::FromConfig(R"({"_all": [{"and": [true, {"!": []}]}]})");
  ASSERT_FALSE(rules);
  EXPECT_EQ(rules.error().message,
            R"(exclusionRules._all[0]: "!" takes exactly 1 argument, got 0 (at and[1]))");
}

TEST(ExclusionRulesConfig, TheConfigShapeIsChecked) {
  auto error = [](const std::string& json, std::string_view path = "exclusionRules") {
    Result<ExclusionRules> rules = ExclusionRules::FromConfig(json, path);
    return rules ? std::string("(accepted)") : rules.error().message;
  };
  EXPECT_EQ(error(R"({"Pod": {"==": [1, 1]}})"),
            "exclusionRules.Pod: expected a list of JsonLogic rules, got an object (write a "
            "single rule as [rule])");
  EXPECT_EQ(error("[1]"),
            R"(exclusionRules: expected an object that maps a kind (or "_all") to a list of )"
            "JsonLogic rules, got an array");
  EXPECT_TRUE(error(R"({"": [true]})").starts_with("exclusionRules: an empty kind name"));
  EXPECT_TRUE(error(R"({"Pod": [)").starts_with("exclusionRules: not valid JSON"));
  EXPECT_TRUE(error(R"({"Pod": [{"bar": 1}]})", "sloop.yaml: exclusionRules")
                  .starts_with(R"(sloop.yaml: exclusionRules.Pod[0]: unknown operator "bar")"));
}

TEST(ExclusionRulesConfig, RulesCanComeFromAParsedConfigDocument) {
  dom::parser parser;
  dom::element config;
  ASSERT_EQ(parser.parse(std::string(R"({"maxLookBack": "336h", "exclusionRules": {
      "_all": [{"==": [{"var": "metadata.namespace"}, "kube-system"]}]}})"))
                .get(config),
            simdjson::SUCCESS);
  Result<ExclusionRules> rules = ExclusionRules::FromConfig(config["exclusionRules"].value());
  ASSERT_TRUE(rules) << rules.error().message;
  dom::parser object_parser;
  dom::element object;
  ASSERT_EQ(object_parser.parse(std::string(R"({"metadata": {"namespace": "kube-system"}})"))
                .get(object),
            simdjson::SUCCESS);
  // The config document may go away once the rules are compiled.
  config = dom::element();
  parser = dom::parser();
  EXPECT_TRUE(rules->ShouldExclude("ConfigMap", object));
}

}  // namespace
}  // namespace sloop
