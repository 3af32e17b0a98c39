package dialog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/looplab/fsm"
)

// Flows, as stored in Answers.Flow.
const (
	flowBook    = "book"
	flowEnquire = "enquire"
	flowCancel  = "cancel"
)

// States. Each seed step of flows A, B and C has one (A2 is two: choose the
// document type, then enter its number); a_booking, b_verifying,
// c_verifying and c_cancelling are transient: their side effect runs on
// entry and an event leaves them within the same update.
const (
	stMenu     = "menu"
	stLanguage = "language"

	stBookDocType    = "a_doc_type"       // A2
	stBookDocNumber  = "a_doc_number"     // A2
	stBookBirth      = "a_birth"          // A3
	stBookBirthCheck = "a_birth_check"    // A3, said back
	stBookMobile     = "a_mobile"         // A4
	stBookConsent    = "a_consent"        // A5
	stBookService    = "a_service"        // A6
	stBookIneligible = "a_video_refused"  // A6, video: not eligible
	stBookAlready    = "a_already_booked" // the patient holds a booking
	stBookRegion     = "a_region"         // A7
	stBookClinic     = "a_clinic"         // A8
	stBookOffer      = "a_offer"          // A9–A11
	stBookSearch     = "a_search"         // A12
	stBookSlots      = "a_slots"          // A13
	stBookAccept     = "a_accept"         // A14
	stBookBooking    = "a_booking"        // transient: books
	stBookBooked     = "a_booked"         // A15
	stEnqDocType     = "b_doc_type"       // B2
	stEnqDocNumber   = "b_doc_number"     // B2
	stEnqBirth       = "b_birth"          // B3
	stEnqBirthCheck  = "b_birth_check"    // B3, said back
	stEnqService     = "b_service"        // B4
	stEnqConsent     = "b_consent"        // B5
	stEnqVerifying   = "b_verifying"      // transient: enquires
	stEnqResult      = "b_result"         // B6
	stCxlDocType     = "c_doc_type"       // C2
	stCxlDocNumber   = "c_doc_number"     // C2
	stCxlBirth       = "c_birth"          // C3
	stCxlBirthCheck  = "c_birth_check"    // C3, said back
	stCxlService     = "c_service"        // C4
	stCxlConsent     = "c_consent"        // C5
	stCxlVerifying   = "c_verifying"      // transient: verifies
	stCxlBooking     = "c_booking"        // C6
	stCxlConfirm     = "c_confirm"        // C7
	stCxlCancelling  = "c_cancelling"     // transient: cancels
	stCxlCancelled   = "c_cancelled"      // C8
)

// Events.
const (
	evBook       = "book"
	evEnquire    = "enquire"
	evCancel     = "cancel"
	evDocType    = "doc_type"
	evEntered    = "entered"
	evConfirm    = "confirm"
	evRetry      = "retry"
	evClinic     = "clinic"
	evVideo      = "video"
	evRefused    = "refused"
	evAlready    = "already_booked"
	evRegion     = "region"
	evAccept     = "accept"
	evDecline    = "decline"
	evPick       = "pick"
	evOtherSlot  = "other_slot"
	evBooked     = "booked"
	evTaken      = "taken"
	evFull       = "full"
	evFound      = "found"
	evEnded      = "ended"
	evCancelled  = "cancelled"
	evKeep       = "keep"
	evCancelBook = "cancel_booking"
)

// kind is what a state asks for; states of the three flows that ask the
// same thing share a kind and its handler.
type kind int

const (
	kMenu kind = iota
	kLanguage
	kDocType
	kDocNumber
	kBirth
	kBirthCheck
	kMobile
	kConsent
	kBookService
	kIneligible
	kAlready
	kRegion
	kClinic
	kOffer
	kSearch
	kSlots
	kAccept
	kVerifyService
	kTransient
	kBooked
	kEnquiryResult
	kCancelShow
	kCancelConfirm
	kCancelled
)

// stateInfo describes a state: its flow ("" for none), what it asks, and
// whether reaching it ends the flow (the booker's answers are then dropped).
type stateInfo struct {
	flow string
	kind kind
	ends bool
}

var states = map[string]stateInfo{
	stMenu:     {"", kMenu, true},
	stLanguage: {"", kLanguage, false},

	stBookDocType:    {flowBook, kDocType, false},
	stBookDocNumber:  {flowBook, kDocNumber, false},
	stBookBirth:      {flowBook, kBirth, false},
	stBookBirthCheck: {flowBook, kBirthCheck, false},
	stBookMobile:     {flowBook, kMobile, false},
	stBookConsent:    {flowBook, kConsent, false},
	stBookService:    {flowBook, kBookService, false},
	stBookIneligible: {flowBook, kIneligible, false},
	stBookAlready:    {flowBook, kAlready, false},
	stBookRegion:     {flowBook, kRegion, false},
	stBookClinic:     {flowBook, kClinic, false},
	stBookOffer:      {flowBook, kOffer, false},
	stBookSearch:     {flowBook, kSearch, false},
	stBookSlots:      {flowBook, kSlots, false},
	stBookAccept:     {flowBook, kAccept, false},
	stBookBooking:    {flowBook, kTransient, false},
	stBookBooked:     {"", kBooked, true},

	stEnqDocType:    {flowEnquire, kDocType, false},
	stEnqDocNumber:  {flowEnquire, kDocNumber, false},
	stEnqBirth:      {flowEnquire, kBirth, false},
	stEnqBirthCheck: {flowEnquire, kBirthCheck, false},
	stEnqService:    {flowEnquire, kVerifyService, false},
	stEnqConsent:    {flowEnquire, kConsent, false},
	stEnqVerifying:  {flowEnquire, kTransient, false},
	stEnqResult:     {"", kEnquiryResult, true},

	stCxlDocType:    {flowCancel, kDocType, false},
	stCxlDocNumber:  {flowCancel, kDocNumber, false},
	stCxlBirth:      {flowCancel, kBirth, false},
	stCxlBirthCheck: {flowCancel, kBirthCheck, false},
	stCxlService:    {flowCancel, kVerifyService, false},
	stCxlConsent:    {flowCancel, kConsent, false},
	stCxlVerifying:  {flowCancel, kTransient, false},
	stCxlBooking:    {flowCancel, kCancelShow, false},
	stCxlConfirm:    {flowCancel, kCancelConfirm, false},
	stCxlCancelling: {flowCancel, kTransient, false},
	stCxlCancelled:  {"", kCancelled, true},
}

// transitions is the flow graph, in the seed's order. Global commands
// (/start, /menu, /exit, /back, /language) and the failure limit move the
// booker outside it with SetState; they are drawn as a note in flow.mmd.
var transitions = fsm.Events{
	{Name: evBook, Src: []string{stMenu, stBookBooked, stEnqResult, stCxlCancelled}, Dst: stBookDocType},
	{Name: evEnquire, Src: []string{stMenu, stBookBooked, stEnqResult, stCxlCancelled}, Dst: stEnqDocType},
	{Name: evCancel, Src: []string{stMenu, stBookBooked, stEnqResult, stCxlCancelled}, Dst: stCxlDocType},

	// A. Book for others.
	{Name: evDocType, Src: []string{stBookDocType}, Dst: stBookDocNumber},
	{Name: evEntered, Src: []string{stBookDocNumber}, Dst: stBookBirth},
	{Name: evEntered, Src: []string{stBookBirth}, Dst: stBookBirthCheck},
	{Name: evRetry, Src: []string{stBookBirthCheck}, Dst: stBookBirth},
	{Name: evConfirm, Src: []string{stBookBirthCheck}, Dst: stBookMobile},
	{Name: evEntered, Src: []string{stBookMobile}, Dst: stBookConsent},
	{Name: evConfirm, Src: []string{stBookConsent}, Dst: stBookService},
	{Name: evAlready, Src: []string{stBookService, stBookBooking}, Dst: stBookAlready},
	{Name: evEnquire, Src: []string{stBookAlready}, Dst: stEnqService},
	{Name: evCancel, Src: []string{stBookAlready}, Dst: stCxlService},
	{Name: evClinic, Src: []string{stBookService, stBookIneligible}, Dst: stBookRegion},
	{Name: evVideo, Src: []string{stBookService}, Dst: stBookOffer},
	{Name: evRefused, Src: []string{stBookService, stBookBooking}, Dst: stBookIneligible},
	{Name: evRegion, Src: []string{stBookRegion}, Dst: stBookClinic},
	{Name: evClinic, Src: []string{stBookClinic}, Dst: stBookOffer},
	{Name: evFull, Src: []string{stBookOffer, stBookBooking}, Dst: stBookService},
	{Name: evAccept, Src: []string{stBookOffer, stBookAccept}, Dst: stBookBooking},
	{Name: evDecline, Src: []string{stBookOffer}, Dst: stBookSearch},
	{Name: evConfirm, Src: []string{stBookSearch}, Dst: stBookSlots},
	{Name: evPick, Src: []string{stBookSlots}, Dst: stBookAccept},
	{Name: evOtherSlot, Src: []string{stBookAccept}, Dst: stBookSlots},
	{Name: evTaken, Src: []string{stBookBooking}, Dst: stBookOffer},
	{Name: evBooked, Src: []string{stBookBooking}, Dst: stBookBooked},

	// B. Enquire for others.
	{Name: evDocType, Src: []string{stEnqDocType}, Dst: stEnqDocNumber},
	{Name: evEntered, Src: []string{stEnqDocNumber}, Dst: stEnqBirth},
	{Name: evEntered, Src: []string{stEnqBirth}, Dst: stEnqBirthCheck},
	{Name: evRetry, Src: []string{stEnqBirthCheck}, Dst: stEnqBirth},
	{Name: evConfirm, Src: []string{stEnqBirthCheck}, Dst: stEnqService},
	{Name: evEntered, Src: []string{stEnqService}, Dst: stEnqConsent},
	{Name: evConfirm, Src: []string{stEnqConsent}, Dst: stEnqVerifying},
	{Name: evFound, Src: []string{stEnqVerifying}, Dst: stEnqResult},
	{Name: evEnded, Src: []string{stEnqVerifying}, Dst: stMenu},

	// C. Cancel for others.
	{Name: evDocType, Src: []string{stCxlDocType}, Dst: stCxlDocNumber},
	{Name: evEntered, Src: []string{stCxlDocNumber}, Dst: stCxlBirth},
	{Name: evEntered, Src: []string{stCxlBirth}, Dst: stCxlBirthCheck},
	{Name: evRetry, Src: []string{stCxlBirthCheck}, Dst: stCxlBirth},
	{Name: evConfirm, Src: []string{stCxlBirthCheck}, Dst: stCxlService},
	{Name: evEntered, Src: []string{stCxlService}, Dst: stCxlConsent},
	{Name: evConfirm, Src: []string{stCxlConsent}, Dst: stCxlVerifying},
	{Name: evFound, Src: []string{stCxlVerifying}, Dst: stCxlBooking},
	{Name: evEnded, Src: []string{stCxlVerifying, stCxlCancelling}, Dst: stMenu},
	{Name: evCancelBook, Src: []string{stCxlBooking}, Dst: stCxlConfirm},
	{Name: evConfirm, Src: []string{stCxlConfirm}, Dst: stCxlCancelling},
	{Name: evKeep, Src: []string{stCxlConfirm}, Dst: stMenu},
	{Name: evCancelled, Src: []string{stCxlCancelling}, Dst: stCxlCancelled},
}

// machine builds the state machine at state.
func machine(state string) *fsm.FSM {
	return fsm.NewFSM(state, transitions, nil)
}

// machines are built state machines for reuse: building one makes its
// transition maps, a tenth of the CPU an update took. A machine is used by
// one update at a time, between Get and Put, so bookers never share one.
var machines = sync.Pool{New: func() any { return machine(stMenu) }}

// fire takes event from state through the flow graph and returns the state
// it leads to.
func fire(ctx context.Context, state, event string) (string, error) {
	m := machines.Get().(*fsm.FSM)
	m.SetState(state)
	if err := m.Event(ctx, event); err != nil {
		// Not put back: an event whose context ended leaves the machine
		// mid-transition, refusing every later event.
		return "", err
	}
	dst := m.Current()
	machines.Put(m)
	return dst, nil
}

// States returns every state of the conversation, sorted: the states of
// the flow graph and the language choice reached by /language.
func States() []string {
	var out []string
	for name := range states {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Diagram returns the conversation's state diagram in Mermaid syntax.
func Diagram() string {
	d, err := fsm.VisualizeForMermaidWithGraphType(machine(stMenu), fsm.StateDiagram)
	if err != nil {
		panic(fmt.Sprintf("dialog: diagram: %v", err)) // StateDiagram is a known type
	}
	var b strings.Builder
	b.WriteString("%% Generated by TestDiagram in package dialog; go test ./dialog -run TestDiagram -update rewrites it.\n")
	b.WriteString(d)
	b.WriteString("    note right of menu\n")
	b.WriteString("        From every state: /start and /menu go to menu; /exit, exit, 離開 and 离开 leave the flow;\n")
	b.WriteString("        /back returns to the previous state with its answers; /language opens language;\n")
	b.WriteString("        five invalid answers at one step end the flow.\n")
	b.WriteString("    end note\n")
	return b.String()
}
