{{/*
Names and labels.
*/}}
{{- define "slinky.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slinky.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "slinky.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "slinky.labels" -}}
helm.sh/chart: {{ include "slinky.chart" . }}
app.kubernetes.io/part-of: slinky
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The operator's selector labels. app.kubernetes.io/name=slinky-controller is what
`kubectl logs -l app.kubernetes.io/name=slinky-controller -n slurm` selects.
*/}}
{{- define "slinky.operator.selectorLabels" -}}
app.kubernetes.io/name: slinky-controller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the operator's objects: the release labels plus app.kubernetes.io/name. */}}
{{- define "slinky.operator.labels" -}}
{{ include "slinky.labels" . }}
app.kubernetes.io/name: slinky-controller
{{- end }}

{{- define "slinky.operator.name" -}}
{{- printf "%s-operator" (include "slinky.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slinky.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "slinky.operator.name" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The slinky image of the Slurm pods: repository:tag (tag defaults to appVersion). */}}
{{- define "slinky.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "slinky.operator.image" -}}
{{- $repo := default .Values.image.repository .Values.operator.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.operator.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{/*
slinky.cluster: one entry of .Values.clusters merged over .Values.clusterDefaults, as YAML.
Argument: dict "root" $ "cluster" $cluster.
*/}}
{{- define "slinky.cluster" -}}
{{- $c := deepCopy .cluster }}
{{- $_ := unset $c "partitions" }}
{{- $merged := mergeOverwrite (deepCopy (.root.Values.clusterDefaults | default dict)) $c }}
{{- toYaml $merged }}
{{- end }}

{{/*
slinky.partition: one partition normalised, as YAML.
Argument: dict "root" $ "cluster" $clusterName "partition" $p "index" "clusters[0].partitions[1]".

- snake_case keys become camelCase (instance_types -> instanceTypes); a partition that gives
  both spellings of one key fails with a message;
- partitionDefaults fill the keys the partition leaves out;
- provisioning: the explicit value, else dynamic when instanceTypes is non-empty, else static;
- instance types are rewritten through .Values.instanceTypeAliases;
- label keys that are not valid Kubernetes label keys are dropped.
The result also holds the keys _resourceName, _skippedLabels and _aliased (for the notes).
*/}}
{{- define "slinky.partition" -}}
{{- $root := .root }}
{{- $where := .index }}
{{- $aliases := dict "instance_types" "instanceTypes" "efa_enabled" "efaEnabled" "node_selector" "nodeSelector" "node_size" "nodeSize" "worker_resources" "workerResources" "max_time" "maxTime" "default_time" "defaultTime" "priority_tier" "priorityTier" "allow_accounts" "allowAccounts" "allow_groups" "allowGroups" "idle_scale_down_seconds" "idleScaleDownSeconds" }}
{{- $p := dict }}
{{- range $k, $v := .partition }}
{{- $key := get $aliases $k | default $k }}
{{- if hasKey $p $key }}
{{- fail (printf "%s: %q and %q are the same setting; give only one of them" $where $k $key) }}
{{- end }}
{{- $_ := set $p $key $v }}
{{- end }}
{{- $d := dict }}
{{- range $k, $v := ($root.Values.partitionDefaults | default dict) }}
{{- $_ := set $d (get $aliases $k | default $k) $v }}
{{- end }}
{{- range $k, $v := $d }}
{{- if not (hasKey $p $k) }}
{{- $_ := set $p $k $v }}
{{- end }}
{{- end }}
{{- /* instance types, through the aliases */}}
{{- $types := list }}
{{- $aliased := list }}
{{- range ($p.instanceTypes | default list) }}
{{- $real := get ($root.Values.instanceTypeAliases | default dict) . }}
{{- if $real }}
{{- $aliased = append $aliased (printf "%s -> %s" . $real) }}
{{- $types = append $types $real }}
{{- else }}
{{- $types = append $types . }}
{{- end }}
{{- end }}
{{- $_ := set $p "instanceTypes" (uniq $types) }}
{{- $_ := set $p "_aliased" $aliased }}
{{- /* provisioning */}}
{{- if not $p.provisioning }}
{{- $_ := set $p "provisioning" (ternary "dynamic" "static" (gt (len $types) 0)) }}
{{- end }}
{{- if not (has $p.provisioning (list "static" "dynamic")) }}
{{- fail (printf "%s: provisioning must be static or dynamic, not %q" $where $p.provisioning) }}
{{- end }}
{{- if and (eq $p.provisioning "dynamic") (not $types) (not $p.nodeSize) }}
{{- fail (printf "%s: a dynamic partition needs instance_types (or node_size): slinky writes each node's CPUs, memory and GPUs into slurm.conf before the node exists" $where) }}
{{- end }}
{{- if not (hasKey $p "nodes") }}
{{- $_ := set $p "nodes" 1 }}
{{- end }}
{{- /* labels: drop keys that are not valid label keys */}}
{{- $labels := dict }}
{{- $skipped := list }}
{{- $labelKey := "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" }}
{{- range $k, $v := ($p.labels | default dict) }}
{{- $prefix := "" }}
{{- if contains "/" $k }}{{ $prefix = first (splitList "/" $k) }}{{ end }}
{{- if and (regexMatch $labelKey $k) (le (len $prefix) 253) }}
{{- $_ := set $labels $k (toString $v) }}
{{- else }}
{{- $skipped = append $skipped $k }}
{{- end }}
{{- end }}
{{- $_ := set $p "labels" $labels }}
{{- $_ := set $p "_skippedLabels" $skipped }}
{{- /* allowAccounts / allowGroups: lists */}}
{{- range $k := list "allowAccounts" "allowGroups" }}
{{- $v := get $p $k }}
{{- if kindIs "string" $v }}
{{- $items := list }}
{{- range (splitList "," $v) }}{{ if trim . }}{{ $items = append $items (trim .) }}{{ end }}{{ end }}
{{- $_ := set $p $k $items }}
{{- end }}
{{- end }}
{{- $_ := set $p "_resourceName" (printf "%s-%s" .cluster $p.name | trunc 63 | trimSuffix "-") }}
{{- toYaml $p }}
{{- end }}
