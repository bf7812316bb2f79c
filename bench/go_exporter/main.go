// A client_golang exporter of the same series as a captured exposition, as a Go exporter of
// cluster binpacking builds them: every scrape, a Collector emits each series as a const metric
// (kube-binpacking-exporter computes its series from its informer cache on each scrape the same
// way), and promhttp encodes them. The peer of the aggregator's /metrics in
// bench/aggregator_scale.sh (GO_PEER=1).
//
// Build with Debian's packages, no network: golang-go, golang-github-prometheus-client-golang-dev
//
//	cd bench/go_exporter && GO111MODULE=off GOPATH=/usr/share/gocode go build -o go_exporter .
//
// Usage: go_exporter -input exposition.txt -listen 127.0.0.1:0 (prints "port=N" once serving).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// One series: its desc (family and label names) and what the scrape emits for it.
type series struct {
	desc   *prometheus.Desc
	kind   dto.MetricType
	values []string
	metric *dto.Metric
}

type replay struct {
	descs  []*prometheus.Desc
	series []series
}

func (r *replay) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range r.descs {
		ch <- d
	}
}

func (r *replay) Collect(ch chan<- prometheus.Metric) {
	for _, s := range r.series {
		m := s.metric
		switch s.kind {
		case dto.MetricType_COUNTER:
			ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, m.GetCounter().GetValue(), s.values...)
		case dto.MetricType_GAUGE:
			ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, m.GetGauge().GetValue(), s.values...)
		case dto.MetricType_UNTYPED:
			ch <- prometheus.MustNewConstMetric(s.desc, prometheus.UntypedValue, m.GetUntyped().GetValue(), s.values...)
		case dto.MetricType_HISTOGRAM:
			h := m.GetHistogram()
			buckets := map[float64]uint64{}
			for _, b := range h.GetBucket() {
				buckets[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			ch <- prometheus.MustNewConstHistogram(s.desc, h.GetSampleCount(), h.GetSampleSum(), buckets, s.values...)
		case dto.MetricType_SUMMARY:
			sm := m.GetSummary()
			quantiles := map[float64]float64{}
			for _, q := range sm.GetQuantile() {
				quantiles[q.GetQuantile()] = q.GetValue()
			}
			ch <- prometheus.MustNewConstSummary(s.desc, sm.GetSampleCount(), sm.GetSampleSum(), quantiles, s.values...)
		}
	}
}

// Families whose series carry different label names get one desc per set of names, as an
// exporter registering them would.
func load(path string) (*replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(families))
	for name := range families {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue // the exporter's own runtime series come from its registry, not the capture
		}
		names = append(names, name)
	}
	sort.Strings(names)
	r := &replay{}
	for _, name := range names {
		family := families[name]
		descs := map[string]*prometheus.Desc{}
		for _, m := range family.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			values := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName())
				values = append(values, l.GetValue())
			}
			key := strings.Join(labels, ",")
			desc, ok := descs[key]
			if !ok {
				desc = prometheus.NewDesc(name, family.GetHelp(), labels, nil)
				descs[key] = desc
				r.descs = append(r.descs, desc)
			}
			r.series = append(r.series, series{desc, family.GetType(), values, m})
		}
	}
	return r, nil
}

func main() {
	input := flag.String("input", "", "Prometheus text exposition to serve")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve /metrics on")
	flag.Parse()
	r, err := load(*input)
	if err != nil {
		log.Fatalf("%s: %v", *input, err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(r, prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		prometheus.NewGoCollector())
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("port=%d series=%d\n", listener.Addr().(*net.TCPAddr).Port, len(r.series))
	http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	log.Fatal(http.Serve(listener, nil))
}
