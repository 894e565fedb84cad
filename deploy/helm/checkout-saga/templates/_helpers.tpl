{{/* The release's name prefix, capped at 63 characters (a DNS label). */}}
{{- define "checkout-saga.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "checkout-saga.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one process; call with (dict "root" $ "name" $name). */}}
{{- define "checkout-saga.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/*
The Prometheus job of a process: the names deploy/prometheus/prometheus.yml uses, which the rules
(OutboxRelayDown selects job="checkout-relay") and dashboards rely on.
*/}}
{{- define "checkout-saga.metricsJob" -}}
{{- $jobs := dict "api" "checkout-api" "saga-worker" "checkout-saga-worker" "outbox-relay" "checkout-relay" "saga-starter" "checkout-saga-starter" -}}
{{- get $jobs . | default "checkout-subscribers" -}}
{{- end -}}

{{- define "checkout-saga.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "checkout-saga.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "checkout-saga.fullname" .)) -}}
{{- end -}}

{{/* The environment every process gets: plain settings, then credentials from the Secret. */}}
{{- define "checkout-saga.env" -}}
{{- range $key, $value := .Values.config }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
- name: SHUTDOWN_GRACE_PERIOD
  value: {{ printf "%ds" (int .Values.shutdownGracePeriodSeconds) | quote }}
{{- range $key := list "DATABASE_URL" "API_TOKENS" "PAYMENT_WEBHOOK_SECRET" "NATS_TOKEN" "TEMPORAL_API_KEY" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "checkout-saga.secretName" $ }}
      key: {{ $key }}
      optional: {{ not (has $key (list "DATABASE_URL" "API_TOKENS")) }}
{{- end }}
{{- end -}}
