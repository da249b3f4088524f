// The CronJob and Job controllers.
#include <algorithm>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_cronjob(const std::string& ns, const std::string& name, SimTime interval,
                          SimTime age) {
  auto c = std::make_unique<CronJobState>();
  c->meta = meta(ns, name, age);
  c->meta.generation = 1;
  c->meta.labels = {{"app.kubernetes.io/name", name}};
  c->app = name;
  c->image = "registry.example.com/batch/" + name + ":1.4.0";
  c->interval = interval;
  const int minutes = static_cast<int>(std::max<SimTime>(1, interval / kMinute));
  c->schedule = "*/" + std::to_string(minutes) + " * * * *";
  const std::string key = key_of(c->meta);
  auto& ref = *c;
  cronjobs_.emplace(key, std::move(c));
  commit(ref, EventType::Added);
  const SimTime first = interval - (now_ % interval);
  every(first, interval, 0, [this, key] { cronjob_tick(key); });
}

void Cluster::cronjob_tick(const std::string& key) {
  auto it = cronjobs_.find(key);
  if (it == cronjobs_.end()) return;
  CronJobState& c = *it->second;
  if (!c.active.empty()) return;  // concurrencyPolicy: Forbid
  const std::string job_name = c.meta.name + "-" + std::to_string(now_ / kMinute);
  auto j = std::make_unique<JobState>();
  j->meta = meta(c.meta.ns, job_name, 0);
  j->meta.generation = 1;
  j->meta.labels = {{"app.kubernetes.io/name", c.app}};
  j->meta.owner = OwnerRef{Kind::CronJob, c.meta.name, c.meta.uid};
  j->app = c.app;
  j->image = c.image;
  j->start = now_;
  j->active = 1;
  const std::string jkey = key_of(j->meta);
  if (jobs_.count(jkey)) return;
  auto& jref = *j;
  jobs_.emplace(jkey, std::move(j));
  commit(jref, EventType::Added);
  c.active.push_back(job_name);
  c.last_schedule = now_;
  c.meta.updated = now_;
  commit(c, EventType::Modified);
  record(Kind::CronJob, c.meta, "Normal", "SuccessfulCreate", "Created job " + job_name,
         "cronjob-controller");
  create_pod(jref.meta, Kind::Job, "", c.app, c.image, PodBehaviour::RunToCompletion, "100m",
             {{"batch.kubernetes.io/job-name", job_name},
              {"batch.kubernetes.io/controller-uid", jref.meta.uid}});
}

void Cluster::job_status(const std::string& key) {
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  JobState& j = *it->second;
  if (j.complete) return;
  int active = 0, succeeded = 0;
  for (PodState* p : owned_pods(j.meta.uid)) {
    if (p->phase == "Succeeded") {
      ++succeeded;
    } else if (!p->meta.deleted) {
      ++active;
    }
  }
  if (succeeded == 0) return;
  j.active = 0;
  j.succeeded = succeeded;
  j.complete = true;
  j.completion = now_;
  j.meta.updated = now_;
  commit(j, EventType::Modified);
  record(Kind::Job, j.meta, "Normal", "Completed", "Job completed", "job-controller");
  if (!j.meta.owner) return;
  auto c = cronjobs_.find(object_key(j.meta.ns, j.meta.owner->name));
  if (c == cronjobs_.end()) return;
  CronJobState& cj = *c->second;
  std::erase(cj.active, j.meta.name);
  cj.last_success = now_;
  cj.history.push_back(j.meta.name);
  cj.meta.updated = now_;
  commit(cj, EventType::Modified);
  record(Kind::CronJob, cj.meta, "Normal", "SawCompletedJob",
         "Saw completed job: " + j.meta.name + ", condition: Complete", "cronjob-controller");
  while (cj.history.size() > 3) {
    const std::string old = cj.history.front();
    cj.history.erase(cj.history.begin());
    const std::string okey = object_key(cj.meta.ns, old);
    auto oj = jobs_.find(okey);
    if (oj == jobs_.end()) continue;
    const std::string juid = oj->second->meta.uid;
    for (PodState* p : owned_pods(juid)) terminate_pod(key_of(p->meta));
    owned_.erase(juid);
    remove(jobs_, okey);
    record(Kind::CronJob, cj.meta, "Normal", "SuccessfulDelete", "Deleted job " + old,
           "cronjob-controller");
  }
}

}  // namespace kubesim
