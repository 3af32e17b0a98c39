package booking

import (
	"log/slog"
	"time"
)

// Region is one of the three regions the seed lets a booker choose from.
type Region string

// The regions, in the seed's order.
const (
	RegionHongKong       Region = "hk"  // 香港, Hong Kong Island
	RegionKowloon        Region = "kln" // 九龍
	RegionNewTerritories Region = "nt"  // 新界及離島, New Territories and Islands
)

// Regions lists every region in the seed's order.
var Regions = []Region{RegionHongKong, RegionKowloon, RegionNewTerritories}

// Valid reports whether r is a known region.
func (r Region) Valid() bool {
	switch r {
	case RegionHongKong, RegionKowloon, RegionNewTerritories:
		return true
	}
	return false
}

// ServiceKind is what a booking is for: an in-person consultation at a
// designated clinic, or the video consultation service.
type ServiceKind string

// The two services of the seed.
const (
	ServiceClinic ServiceKind = "clinic" // 指定診所
	ServiceVideo  ServiceKind = "video"  // 視像診症服務
)

// Valid reports whether k is a known service.
func (k ServiceKind) Valid() bool { return k == ServiceClinic || k == ServiceVideo }

// ClinicID identifies a clinic; it is a short stable slug such as "wan-tsui".
type ClinicID string

// Text is a piece of wording in the three languages clinicbot speaks.
// The domain does not choose a language; callers pick the field they need.
type Text struct {
	ZhHK string `json:"zh-HK" yaml:"zh-HK"`
	En   string `json:"en" yaml:"en"`
	ZhCN string `json:"zh-CN" yaml:"zh-CN"`
}

// In returns the text in lang ("zh-HK", "en" or "zh-CN"), falling back to
// zh-HK, then English, when that language is empty.
func (t Text) In(lang string) string {
	var s string
	switch lang {
	case "en":
		s = t.En
	case "zh-CN":
		s = t.ZhCN
	default:
		s = t.ZhHK
	}
	if s == "" {
		s = t.ZhHK
	}
	if s == "" {
		s = t.En
	}
	return s
}

// Coordinates is a WGS84 position. The zero value means "unknown".
type Coordinates struct {
	Lat float64 `json:"lat" yaml:"lat"`
	Lng float64 `json:"lng" yaml:"lng"`
}

// Known reports whether the coordinates were given.
func (c Coordinates) Known() bool { return c.Lat != 0 || c.Lng != 0 }

// Clinic is a designated clinic.
type Clinic struct {
	ID       ClinicID    `json:"id" yaml:"id"`
	Region   Region      `json:"region" yaml:"region"`
	District Text        `json:"district" yaml:"district"`
	Name     Text        `json:"name" yaml:"name"`
	Address  Text        `json:"address" yaml:"address"`
	Location Coordinates `json:"location" yaml:"location"`
	// Source says where the address and coordinates were taken from.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
}

// SlotID identifies a slot in a store.
type SlotID int64

// Slot is a consultation period of one service with a fixed number of places.
// ClinicID is empty for video consultation.
type Slot struct {
	ID       SlotID
	Service  ServiceKind
	ClinicID ClinicID
	Start    time.Time // UTC
	End      time.Time // UTC
	Capacity int
	Taken    int // places booked
	// Held is the places held for bookers considering an offer, as of the
	// query's time (Store.Slots with SlotQuery.At, Store.Hold); zero where
	// the reader did not count them.
	Held int
}

// Remaining is the number of places still free: neither booked nor held.
func (s Slot) Remaining() int {
	if r := s.Capacity - s.Taken - s.Held; r > 0 {
		return r
	}
	return 0
}

// DocumentType is the kind of identity document a patient holds.
type DocumentType string

// The document types of the seed's first step.
const (
	DocumentHKID  DocumentType = "hkid"  // 身份證
	DocumentOther DocumentType = "other" // 其他護照或身份證明文件
)

// Valid reports whether t is a known document type.
func (t DocumentType) Valid() bool { return t == DocumentHKID || t == DocumentOther }

// Document is a patient's identity document with its number normalised by
// ParseHKID or ParseOtherDocument. Its String and LogValue are masked.
type Document struct {
	Type   DocumentType
	Number string
}

// Date is a civil date without a time zone: a date of birth.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Mobile is a Hong Kong mobile number, normalised to its eight digits.
type Mobile string

// Patient is the person an appointment is for. It holds personal data:
// it is never logged (see LogValue) and never stored in clear.
type Patient struct {
	Document    Document
	DateOfBirth Date
	Mobile      Mobile
}

// LogValue redacts the patient for log/slog.
func (p Patient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("document", p.Document.Masked()))
}

// Channel is the chat network a booker uses.
type Channel string

// The channels clinicbot serves.
const (
	ChannelTelegram Channel = "telegram"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelConsole  Channel = "console"
)

// Booker is the person chatting with the bot on behalf of a patient,
// identified by channel and the channel's own user id (a Telegram chat id,
// a WhatsApp JID's user part).
type Booker struct {
	Channel Channel
	ID      string
}

// LogValue keeps a WhatsApp booker's id, a phone number, out of logs.
func (b Booker) LogValue() slog.Value {
	id := b.ID
	if b.Channel == ChannelWhatsApp {
		id = maskTail(id, 4)
	}
	return slog.GroupValue(slog.String("channel", string(b.Channel)), slog.String("id", id))
}

// Masked is the booker's id for another person to read (a patient's
// access log): all but its last four characters starred, whatever the
// channel, as LogValue stars a WhatsApp number's.
func (b Booker) Masked() string { return maskTail(b.ID, 4) }

// BookingID identifies a booking in a store.
type BookingID int64

// Reference is the short, unguessable code a booker reads back to a clinic,
// such as "K7QM-4X2P". See NewReference.
type Reference string

// Status is a booking's state.
type Status string

// Booking statuses. A booking is active from creation until it is cancelled
// or its appointment has ended (then it is completed).
const (
	StatusActive    Status = "active"
	StatusCancelled Status = "cancelled"
	StatusCompleted Status = "completed"
)

// Booking is one patient's appointment, made by a booker.
// It carries no personal data in clear: the patient appears masked.
type Booking struct {
	ID        BookingID
	Reference Reference
	Slot      Slot
	// PatientMasked is the patient's document number masked for display,
	// e.g. "A123***(*)".
	PatientMasked string
	DocumentType  DocumentType
	Booker        Booker
	Status        Status
	ConsentAt     time.Time
	CreatedAt     time.Time
	CancelledAt   time.Time // zero unless cancelled
	// Sequence counts the moves of the booking to another slot (Move):
	// its calendar event's SEQUENCE, so that a calendar replaces the
	// event it has with the same UID.
	Sequence int
}
