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
{{- $jobs := dict "api" "checkout-api" "saga-worker" "checkout-saga-worker" "outbox-relay" "checkout-relay" "saga-starter" "checkout-saga-starter" "codec-server" "checkout-codec-server" -}}
{{- get $jobs . | default "checkout-subscribers" -}}
{{- end -}}

{{- define "checkout-saga.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "checkout-saga.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "checkout-saga.fullname" .)) -}}
{{- end -}}

{{/* The environment every process gets: plain settings, then credentials from the Secret. */}}
{{/*
The environment of a process: the plain settings, the shared secrets, and its credentials. With
`credentialsSecret` (a Secret holding DATABASE_URL with its own PostgreSQL role, and NATS_USER /
NATS_PASSWORD: docs/access.md lists each process's principal) it connects with least privilege;
without it, with the shared secret's DATABASE_URL and NATS_TOKEN (the migration Job always does:
it runs the DDL as the owner).
A process with `secretKeys` (the codec server, which holds no database or NATS principal) gets
exactly those keys of the shared Secret instead.
Called with (dict "root" $ "credentialsSecret" <name or ""> ["secretKeys" <list>]).
*/}}
{{- define "checkout-saga.env" -}}
{{- $root := .root }}
{{- range $key, $value := $root.Values.config }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
- name: SHUTDOWN_GRACE_PERIOD
  value: {{ printf "%ds" (int $root.Values.shutdownGracePeriodSeconds) | quote }}
{{- $shared := list "API_TOKENS" "PAYMENT_WEBHOOK_SECRET" "TEMPORAL_API_KEY" "PAYLOAD_KEYS" "PAYLOAD_KEY_CURRENT" }}
{{- if .secretKeys }}
{{- $shared = .secretKeys }}
{{- else if not .credentialsSecret }}
{{- $shared = concat (list "DATABASE_URL" "NATS_TOKEN") $shared }}
{{- end }}
{{- range $key := $shared }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "checkout-saga.secretName" $root }}
      key: {{ $key }}
      optional: {{ not (has $key (list "DATABASE_URL" "API_TOKENS" "PAYLOAD_KEYS")) }}
{{- end }}
{{- with .credentialsSecret }}
{{- range $key := list "DATABASE_URL" "NATS_USER" "NATS_PASSWORD" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $.credentialsSecret }}
      key: {{ $key }}
      optional: {{ ne $key "DATABASE_URL" }}
{{- end }}
{{- end }}
{{- end -}}
