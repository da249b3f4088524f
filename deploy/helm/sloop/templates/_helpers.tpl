{{/* The labels every object carries. The kustomize base (deploy/kubernetes) writes the same ones,
     less the two that name helm. */}}
{{- define "sloop.selectorLabels" -}}
app.kubernetes.io/name: sloop
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sloop.labels" -}}
{{ include "sloop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* sloop's configuration: the chart's settings over values.config (a map, or Sloop's JSON text). */}}
{{- define "sloop.config" -}}
{{- $cfg := dict }}
{{- if kindIs "string" .Values.config }}
{{- $cfg = fromYaml .Values.config }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "values.config is text that is neither JSON nor YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- else if .Values.config }}
{{- $cfg = deepCopy .Values.config }}
{{- end }}
{{- $_ := set $cfg "storeRoot" "/data" }}
{{- $_ := set $cfg "port" (int .Values.service.targetPort) }}
{{- if not (hasKey $cfg "maxDiskMb") }}{{ $_ := set $cfg "maxDiskMb" 8192 }}{{ end }}
{{- if not (hasKey $cfg "memoryBudgetMb") }}{{ $_ := set $cfg "memoryBudgetMb" 128 }}{{ end }}
{{- if and .Values.ingress.enabled (ne (trimSuffix "/" .Values.ingress.path) "") (not (hasKey $cfg "basePath")) }}
{{- $_ := set $cfg "basePath" (trimSuffix "/" .Values.ingress.path) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* The store's volume: values.persistentVolume.size, else maxDiskMb plus a quarter, in Gi. */}}
{{- define "sloop.volumeSize" -}}
{{- if .Values.persistentVolume.size }}{{ .Values.persistentVolume.size }}
{{- else }}
{{- $cfg := fromYaml (include "sloop.config" .) }}
{{- $mb := int64 (get $cfg "maxDiskMb") }}
{{- printf "%dGi" (div (add (div (mul $mb 5) 4) 1023) 1024) }}
{{- end }}
{{- end }}
