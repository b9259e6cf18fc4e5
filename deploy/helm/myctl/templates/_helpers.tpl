{{/* The objects' name: fixed "myctl" like deploy/base, so RBAC, docs and both installs agree. */}}
{{- define "myctl.name" -}}myctl{{- end -}}

{{- define "myctl.labels" -}}
app.kubernetes.io/name: myctl
app.kubernetes.io/part-of: myctl
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "myctl.selector" -}}
app.kubernetes.io/name: myctl
{{- end -}}
