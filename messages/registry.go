package messages

import (
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Message is any ingo wire message.
type Message interface {
	// MessageName is the type's name, as INGInious spells it.
	MessageName() string
}

// clientNewJobIndex is ClientNewJob's place in registry.
const clientNewJobIndex = 1

// tagBase is the first CBOR tag number of ingo messages. The range
// 39900-39999 is unassigned in the IANA CBOR tag registry.
const tagBase = 39900

// registry is the one table of message types. The position of a type is its
// tag number minus tagBase: append new types at the end and never reorder,
// or old peers will misread new ones.
var registry = []Message{ // clientNewJobIndex must stay ClientNewJob's place
	&ClientHello{},               // 39900
	&ClientNewJob{},              // 39901
	&ClientKillJob{},             // 39902
	&ClientGetQueue{},            // 39903
	&Ping{},                      // 39904
	&BackendUpdateEnvironments{}, // 39905
	&BackendJobQueued{},          // 39906
	&BackendJobStarted{},         // 39907
	&BackendJobDone{},            // 39908
	&BackendJobSSHDebug{},        // 39909
	&BackendGetQueue{},           // 39910
	&Pong{},                      // 39911
	&Unknown{},                   // 39912
	&AgentHello{},                // 39913
	&AgentJobStarted{},           // 39914
	&AgentJobDone{},              // 39915
	&AgentJobSSHDebug{},          // 39916
	&BackendNewJob{},             // 39917
	&BackendKillJob{},            // 39918
	&Ack{},                       // 39919
	&Error{},                     // 39920
	&AgentJobRefused{},           // 39921
	&BackendAgentConflict{},      // 39922
	&ClientGetHistory{},          // 39923
	&BackendHistory{},            // 39924
	&Batch{},                     // 39925
}

// All returns a new zero value of every message type, in tag order.
func All() []Message {
	out := make([]Message, len(registry))
	for i, m := range registry {
		out[i] = reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
	}
	return out
}

// registryIndex is the place of message type T in the registry.
func registryIndex[T Message]() int {
	for i, m := range registry {
		if _, ok := m.(T); ok {
			return i
		}
	}
	panic(fmt.Sprintf("messages: %T is not registered", *new(T)))
}

func tagSet() cbor.TagSet {
	tags := cbor.NewTagSet()
	opts := cbor.TagOptions{EncTag: cbor.EncTagRequired, DecTag: cbor.DecTagRequired}
	for i, m := range registry {
		if err := tags.Add(opts, reflect.TypeOf(m).Elem(), uint64(tagBase+i)); err != nil {
			panic(fmt.Sprintf("messages: registering %s: %v", m.MessageName(), err))
		}
	}
	return tags
}

func (*ClientHello) MessageName() string               { return "ClientHello" }
func (*ClientNewJob) MessageName() string              { return "ClientNewJob" }
func (*ClientKillJob) MessageName() string             { return "ClientKillJob" }
func (*ClientGetQueue) MessageName() string            { return "ClientGetQueue" }
func (*Ping) MessageName() string                      { return "Ping" }
func (*BackendUpdateEnvironments) MessageName() string { return "BackendUpdateEnvironments" }
func (*BackendJobQueued) MessageName() string          { return "BackendJobQueued" }
func (*BackendJobStarted) MessageName() string         { return "BackendJobStarted" }
func (*BackendJobDone) MessageName() string            { return "BackendJobDone" }
func (*BackendJobSSHDebug) MessageName() string        { return "BackendJobSSHDebug" }
func (*BackendGetQueue) MessageName() string           { return "BackendGetQueue" }
func (*Pong) MessageName() string                      { return "Pong" }
func (*Unknown) MessageName() string                   { return "Unknown" }
func (*AgentHello) MessageName() string                { return "AgentHello" }
func (*AgentJobStarted) MessageName() string           { return "AgentJobStarted" }
func (*AgentJobDone) MessageName() string              { return "AgentJobDone" }
func (*AgentJobSSHDebug) MessageName() string          { return "AgentJobSSHDebug" }
func (*BackendNewJob) MessageName() string             { return "BackendNewJob" }
func (*BackendKillJob) MessageName() string            { return "BackendKillJob" }
func (*Ack) MessageName() string                       { return "Ack" }
func (*Error) MessageName() string                     { return "Error" }
func (*AgentJobRefused) MessageName() string           { return "AgentJobRefused" }
func (*BackendAgentConflict) MessageName() string      { return "BackendAgentConflict" }
func (*ClientGetHistory) MessageName() string          { return "ClientGetHistory" }
func (*BackendHistory) MessageName() string            { return "BackendHistory" }
func (*Batch) MessageName() string                     { return "Batch" }
