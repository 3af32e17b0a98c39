package bookingtest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// Benchmark measures concurrent bookings through booking.Service on the
// fresh, empty store open returns: "Spread" over 200 slots at four clinics,
// and "HotSlot", everyone on one slot. Each reports bookings/s. Every
// booking must succeed, so each slot has room for all of them.
func Benchmark(b *testing.B, open func(b *testing.B) booking.Store) {
	b.Run("Spread", func(b *testing.B) { benchBook(b, open, 200) })
	b.Run("HotSlot", func(b *testing.B) { benchBook(b, open, 1) })
}

// benchParallelism is how many goroutines per GOMAXPROCS book at once, as
// many bookers' messages would.
const benchParallelism = 8

func benchBook(b *testing.B, open func(b *testing.B) booking.Store, slots int) {
	store := open(b)
	ctx := b.Context()
	prot, err := booking.NewProtector(TestKey)
	if err != nil {
		b.Fatalf("NewProtector: %v", err)
	}
	clock := NewClock(start)
	svc := &booking.Service{Store: store, Protector: prot, Rules: booking.DefaultRules(), Now: clock.Now}
	if err := store.SaveClinics(ctx, testClinics); err != nil {
		b.Fatalf("SaveClinics: %v", err)
	}
	capacity := b.N/slots + 1
	batch := make([]booking.Slot, slots)
	for i := range batch {
		begin := at(1, 0, 0).Add(time.Duration(i) * 5 * time.Minute)
		batch[i] = booking.Slot{Service: booking.ServiceClinic, ClinicID: testClinics[i%len(testClinics)].ID,
			Start: begin, End: begin.Add(5 * time.Minute), Capacity: capacity}
	}
	if _, err := store.SaveSlots(ctx, batch); err != nil {
		b.Fatalf("SaveSlots: %v", err)
	}
	saved, err := store.Slots(ctx, booking.SlotQuery{})
	if err != nil || len(saved) != slots {
		b.Fatalf("Slots = %d, %v, want %d", len(saved), err, slots)
	}
	patients := make([]booking.Patient, b.N)
	for i := range patients {
		patients[i] = patient(i)
	}

	var next atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			_, err := svc.Book(ctx, booking.BookRequest{
				Patient: patients[i], Booker: booker(i), SlotID: saved[i%slots].ID, ConsentAt: start,
			})
			if err != nil {
				b.Errorf("Book: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")

	after, err := store.Slots(ctx, booking.SlotQuery{})
	if err != nil {
		b.Fatalf("Slots: %v", err)
	}
	taken := 0
	for _, sl := range after {
		taken += sl.Taken
	}
	if taken != b.N {
		b.Errorf("places taken = %d after %d bookings", taken, b.N)
	}
}

// BenchmarkReads measures the reads of "my bookings" (BookerBookings) and
// of a patient's access log (AccessLog) on a store holding 2,000 bookings
// by 500 chats, four each, with their look-ups and one enquiry each in the
// audit trail: what a chat's menu choice and an enquiry's log cost.
func BenchmarkReads(b *testing.B, open func(b *testing.B) booking.Store) {
	store := open(b)
	ctx := b.Context()
	prot, err := booking.NewProtector(TestKey)
	if err != nil {
		b.Fatalf("NewProtector: %v", err)
	}
	svc := &booking.Service{Store: store, Protector: prot, Rules: booking.DefaultRules(), Now: NewClock(start).Now}
	if err := store.SaveClinics(ctx, testClinics); err != nil {
		b.Fatalf("SaveClinics: %v", err)
	}
	const chats, each = 500, 4
	batch := make([]booking.Slot, 100)
	for i := range batch {
		begin := at(1, 0, 0).Add(time.Duration(i) * 5 * time.Minute)
		batch[i] = booking.Slot{Service: booking.ServiceClinic, ClinicID: testClinics[i%len(testClinics)].ID,
			Start: begin, End: begin.Add(5 * time.Minute), Capacity: chats * each / len(batch)}
	}
	if _, err := store.SaveSlots(ctx, batch); err != nil {
		b.Fatalf("SaveSlots: %v", err)
	}
	slots, err := store.Slots(ctx, booking.SlotQuery{})
	if err != nil {
		b.Fatalf("Slots: %v", err)
	}
	for i := range chats * each {
		p, bk := patient(i), booker(i/each)
		if err := svc.ScreenInRoom(ctx, bk, p); err != nil {
			b.Fatalf("Screen: %v", err)
		}
		made, err := svc.Book(ctx, booking.BookRequest{Patient: p, Booker: bk, SlotID: slots[i%len(slots)].ID, ConsentAt: start})
		if err != nil {
			b.Fatalf("Book: %v", err)
		}
		if _, err := svc.Enquire(ctx, lookup(p, booker(chats+i), made.Slot)); err != nil {
			b.Fatalf("Enquire: %v", err)
		}
	}
	b.Run("BookerBookings", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if bs, err := svc.BookerBookings(ctx, booker(i%chats)); err != nil || len(bs) != each {
				b.Fatalf("BookerBookings = %d, %v; want %d", len(bs), err, each)
			}
			i++
		}
	})
	b.Run("AccessLog", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if log, err := svc.AccessLog(ctx, patient(i%(chats*each)).Document); err != nil || log.Total != 3 {
				b.Fatalf("AccessLog = %d records, %v; want 3", log.Total, err)
			}
			i++
		}
	})
}
