import EMPModel
import EMPScheduling
import Testing

/// The autoscaler's decisions in time, shared by the service and the simulator (issue 21).
@Suite struct ScalingTimersTests {
    func timers() -> ScalingTimers { ScalingTimers(idleWindow: .seconds(1), maxWindow: .seconds(10), emptyAfter: .seconds(30)) }

    @Test func aBatchIsDecidedOnceIdleOrAtTheMaxWindow() {
        var quiet = timers()
        let early = [quiet.observe(pending: ["a"], at: .seconds(0)), quiet.observe(pending: ["a"], at: .milliseconds(999))]
        #expect(early == [false, false])
        let due = quiet.observe(pending: ["a"], at: .seconds(1))
        #expect(due)
        var busy = timers()
        let changing = (0..<100).map { tenth in busy.observe(pending: ["p\(tenth)"], at: .milliseconds(tenth * 100)) }
        #expect(!changing.contains(true))
        let atMax = busy.observe(pending: ["p100"], at: .seconds(10))
        #expect(atMax, "a batch that keeps changing is decided at the max window")
    }

    /// Pods still pending after a decision (a scale-up short of hosts) are decided again once the idle window
    /// passes, without waiting for some other pod to come or go.
    @Test func podsLeftPendingAfterADecisionAreDecidedAgain() {
        var timers = timers()
        _ = timers.observe(pending: ["a", "b"], at: .seconds(0))
        let first = timers.observe(pending: ["a", "b"], at: .seconds(1))
        #expect(first)
        timers.decided()
        let waiting = timers.observe(pending: ["a", "b"], at: .seconds(2))
        #expect(!waiting, "a new batch waits its idle window")
        let again = timers.observe(pending: ["a", "b"], at: .seconds(3))
        #expect(again, "decided again")
        timers.decided()
        let none = timers.observe(pending: [], at: .seconds(4))
        #expect(!none)
        #expect(timers.nextDue(after: .seconds(4)) == nil)
    }

    @Test func emptyEVMsGoNewestFirstAfterEmptyAfterKeepingTheFloorAndHeadroom() {
        var timers = timers()
        let room = Resources(cpuMillis: 4000, memoryBytes: 16 << 30)
        let empty = ["e3", "e2", "e1"].map { ScalingTimers.EmptyEVM(id: $0, free: room) }
        let pool: Set<String> = ["e1", "e2", "e3", "busy"]
        let r1 = timers.removals(empty: empty, pool: pool, live: 4, minimum: 2, headroom: nil, free: room * 3, at: .seconds(0))
        #expect(r1.isEmpty)
        #expect(timers.nextDue(after: .seconds(0)) == .seconds(30))
        let r2 = timers.removals(empty: empty, pool: pool, live: 4, minimum: 2, headroom: nil, free: room * 3, at: .seconds(29))
        #expect(r2.isEmpty)
        let r3 = timers.removals(empty: empty, pool: pool, live: 4, minimum: 2, headroom: nil, free: room * 3, at: .seconds(30))
        #expect(
            r3 == ["e3", "e2"],
            "newest first, down to the floor of 2")
        // e1 got a pod back: its timer stops; empty again later, it waits a whole emptyAfter.
        let r4 = timers.removals(empty: [], pool: pool, live: 2, minimum: 0, headroom: nil, free: .zero, at: .seconds(31))
        #expect(r4.isEmpty)
        let again = [ScalingTimers.EmptyEVM(id: "e1", free: room)]
        let r5 = timers.removals(empty: again, pool: pool, live: 2, minimum: 0, headroom: nil, free: room, at: .seconds(40))
        #expect(r5.isEmpty)
        let r6 = timers.removals(empty: again, pool: pool, live: 2, minimum: 0, headroom: room, free: room, at: .seconds(70))
        #expect(r6.isEmpty, "headroom keeps it")
        let r7 = timers.removals(empty: again, pool: pool, live: 2, minimum: 0, headroom: nil, free: room, at: .seconds(70))
        #expect(r7 == ["e1"])
    }

    @Test func theFloorLacksWhatMinEVMsAsksWithinMaxEVMs() {
        #expect(ScalingTimers.floorMissing(inUse: 1, live: 1, minimum: 3, maxEVMs: 10) == 2)
        #expect(ScalingTimers.floorMissing(inUse: 1, live: 9, minimum: 3, maxEVMs: 10) == 1, "warm EVMs count against maxEVMs")
        #expect(ScalingTimers.floorMissing(inUse: 5, live: 5, minimum: 3, maxEVMs: 10) == 0)
    }
}

extension ScalingTimersTests {
    /// The floor's decision: the minimum in use first, then warm EVMs refilled or retired, within maxEVMs.
    @Test func theFloorActsInItsOrder() {
        #expect(ScalingTimers.floorAction(inUse: 1, warm: 0, live: 1, minEVMs: 3, warmWanted: 2, maxEVMs: 10) == .create(2))
        #expect(ScalingTimers.floorAction(inUse: 3, warm: 0, live: 3, minEVMs: 3, warmWanted: 2, maxEVMs: 10) == .refillWarm(2))
        #expect(ScalingTimers.floorAction(inUse: 3, warm: 0, live: 9, minEVMs: 3, warmWanted: 2, maxEVMs: 10) == .refillWarm(1))
        #expect(ScalingTimers.floorAction(inUse: 3, warm: 0, live: 10, minEVMs: 3, warmWanted: 2, maxEVMs: 10) == .none)
        #expect(ScalingTimers.floorAction(inUse: 3, warm: 4, live: 7, minEVMs: 3, warmWanted: 1, maxEVMs: 10) == .retireWarm(3))
        #expect(ScalingTimers.floorAction(inUse: 5, warm: 1, live: 6, minEVMs: 3, warmWanted: 1, maxEVMs: 10) == .none)
    }
}
