// A fake kubelet pod-resources server built on grpc-go, the gRPC implementation the kubelet
// itself serves the API with, so the agent's hand-written client (podresources/grpc_unary.cpp)
// is also checked against grpc-go's HTTP/2 framing, flow control, HPACK and status trailers, not
// only against gRPC's C++ server (tests/support/fake_podresources).
//
// It answers v1.PodResourcesLister's List and GetAllocatableResources from the same JSON fixtures
// as the C++ fake (the API's JSON mapping: podResources, cpuIds, ...), encoding the protobuf by
// hand with protowire: no generated code, so Debian's grpc-go and protobuf sources are enough.
//
//	grpc_go_kubelet -socket PATH -list list.json [-allocatable allocatable.json] [-fail CODE]
//
// Without -allocatable, GetAllocatableResources is not served (a kubelet before 1.21). -fail
// answers every call with that gRPC status code (8 is ResourceExhausted, the kubelet's rate
// limiter). The socket appears once the server accepts on it; SIGTERM stops it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec replaces grpc-go's "proto" codec in this binary: messages are their wire bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// The API's JSON mapping, as the fixtures hold it. Sizes are strings (uint64 in proto3 JSON).
type numaNode struct {
	ID int64 `json:"ID"`
}
type topology struct {
	Nodes []numaNode `json:"nodes"`
}
type device struct {
	ResourceName string    `json:"resourceName"`
	DeviceIDs    []string  `json:"deviceIds"`
	Topology     *topology `json:"topology"`
}
type memory struct {
	MemoryType string    `json:"memoryType"`
	Size       string    `json:"size"`
	Topology   *topology `json:"topology"`
}
type container struct {
	Name    string   `json:"name"`
	Devices []device `json:"devices"`
	CPUIDs  []int64  `json:"cpuIds"`
	Memory  []memory `json:"memory"`
}
type pod struct {
	Name       string      `json:"name"`
	Namespace  string      `json:"namespace"`
	Containers []container `json:"containers"`
}
type listResponse struct {
	PodResources []pod `json:"podResources"`
}
type allocatableResponse struct {
	Devices []device `json:"devices"`
	CPUIDs  []int64  `json:"cpuIds"`
	Memory  []memory `json:"memory"`
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// Packed, as proto3 encodes repeated scalars (and the kubelet's gogo-generated code does).
func appendPackedInt64(b []byte, field protowire.Number, values []int64) []byte {
	if len(values) == 0 {
		return b
	}
	var packed []byte
	for _, v := range values {
		packed = protowire.AppendVarint(packed, uint64(v))
	}
	return appendMessage(b, field, packed)
}

func encodeTopology(t *topology) []byte {
	var b []byte
	for _, n := range t.Nodes {
		var node []byte
		if n.ID != 0 {
			node = protowire.AppendTag(node, 1, protowire.VarintType)
			node = protowire.AppendVarint(node, uint64(n.ID))
		}
		b = appendMessage(b, 1, node)
	}
	return b
}

func encodeDevice(d device) []byte {
	var b []byte
	b = appendString(b, 1, d.ResourceName)
	for _, id := range d.DeviceIDs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	if d.Topology != nil {
		b = appendMessage(b, 3, encodeTopology(d.Topology))
	}
	return b
}

func encodeMemory(m memory) ([]byte, error) {
	var b []byte
	b = appendString(b, 1, m.MemoryType)
	size, err := strconv.ParseUint(m.Size, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("memory size %q: %v", m.Size, err)
	}
	if size != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, size)
	}
	if m.Topology != nil {
		b = appendMessage(b, 3, encodeTopology(m.Topology))
	}
	return b, nil
}

// Devices, CPUs and memory at the field numbers given: ContainerResources and
// AllocatableResourcesResponse hold the same three at different numbers.
func appendResources(b []byte, devices []device, deviceField protowire.Number, cpus []int64,
	cpuField protowire.Number, mem []memory, memoryField protowire.Number) ([]byte, error) {
	for _, d := range devices {
		b = appendMessage(b, deviceField, encodeDevice(d))
	}
	b = appendPackedInt64(b, cpuField, cpus)
	for _, m := range mem {
		encoded, err := encodeMemory(m)
		if err != nil {
			return nil, err
		}
		b = appendMessage(b, memoryField, encoded)
	}
	return b, nil
}

func encodeList(r listResponse) ([]byte, error) {
	var b []byte
	for _, p := range r.PodResources {
		var pb []byte
		pb = appendString(pb, 1, p.Name)
		pb = appendString(pb, 2, p.Namespace)
		for _, c := range p.Containers {
			cb := appendString(nil, 1, c.Name)
			cb, err := appendResources(cb, c.Devices, 2, c.CPUIDs, 3, c.Memory, 4)
			if err != nil {
				return nil, err
			}
			pb = appendMessage(pb, 3, cb)
		}
		b = appendMessage(b, 1, pb)
	}
	return b, nil
}

func encodeAllocatable(r allocatableResponse) ([]byte, error) {
	return appendResources(nil, r.Devices, 1, r.CPUIDs, 2, r.Memory, 3)
}

func readJSON(path string, into interface{}) {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		fail(fmt.Errorf("%s: %v", path, err))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grpc_go_kubelet:", err)
	os.Exit(1)
}

func unary(answer func() ([]byte, error)) func(interface{}, context.Context, func(interface{}) error,
	grpc.UnaryServerInterceptor) (interface{}, error) {
	return func(_ interface{}, _ context.Context, decode func(interface{}) error,
		_ grpc.UnaryServerInterceptor) (interface{}, error) {
		var request []byte
		if err := decode(&request); err != nil {
			return nil, err
		}
		return answer()
	}
}

func main() {
	socket := flag.String("socket", "", "unix socket to serve on")
	listPath := flag.String("list", "", "List answer (JSON)")
	allocatablePath := flag.String("allocatable", "", "GetAllocatableResources answer (JSON); none: Unimplemented")
	failCode := flag.Int("fail", 0, "answer every call with this gRPC status code")
	flag.Parse()
	if *socket == "" || *listPath == "" {
		fail(fmt.Errorf("-socket and -list are required"))
	}
	encoding.RegisterCodec(rawCodec{})

	var list listResponse
	readJSON(*listPath, &list)
	listBytes, err := encodeList(list)
	if err != nil {
		fail(err)
	}
	var allocatableBytes []byte
	if *allocatablePath != "" {
		var allocatable allocatableResponse
		readJSON(*allocatablePath, &allocatable)
		if allocatableBytes, err = encodeAllocatable(allocatable); err != nil {
			fail(err)
		}
	}
	refuse := func() error {
		if *failCode != 0 {
			return status.Error(codes.Code(*failCode), "refused by the fake kubelet (-fail)")
		}
		return nil
	}

	service := grpc.ServiceDesc{
		ServiceName: "v1.PodResourcesLister",
		HandlerType: (*interface{})(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "List", Handler: unary(func() ([]byte, error) {
				if err := refuse(); err != nil {
					return nil, err
				}
				return listBytes, nil
			})},
		},
		Metadata: "api.proto",
	}
	// A kubelet before 1.21 does not serve it: grpc-go itself then answers Unimplemented.
	if allocatableBytes != nil {
		service.Methods = append(service.Methods, grpc.MethodDesc{MethodName: "GetAllocatableResources",
			Handler: unary(func() ([]byte, error) {
				if err := refuse(); err != nil {
					return nil, err
				}
				return allocatableBytes, nil
			})})
	}

	// Bound and listening under another name, then renamed: whoever sees the socket can connect.
	pending := *socket + ".pending"
	os.Remove(pending)
	listener, err := net.Listen("unix", pending)
	if err != nil {
		fail(err)
	}
	if err := os.Rename(pending, *socket); err != nil {
		fail(err)
	}
	server := grpc.NewServer()
	server.RegisterService(&service, struct{}{})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Stop()
	}()
	if err := server.Serve(listener); err != nil {
		fail(err)
	}
}
