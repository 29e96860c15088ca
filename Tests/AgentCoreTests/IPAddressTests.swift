import AgentCore
import Foundation
import Testing

@Suite struct IPAddressTests {
    @Test func parsesAndPrintsCanonically() {
        #expect(IPAddress("10.0.0.1")?.description == "10.0.0.1")
        #expect(IPAddress("2001:0db8:0000::1")?.description == "2001:db8::1")
        #expect(IPAddress("10.0.0.256") == nil)
        #expect(IPAddress("10.0.0.1\n") == nil)
        #expect(IPAddress("node1") == nil)
    }

    @Test func networksContainTheirHosts() throws {
        let network = try #require(IPNetwork("10.10.10.7/24"))
        #expect(network.description == "10.10.10.0/24")
        #expect(network.netmask == "255.255.255.0")
        #expect(network.contains(IPAddress("10.10.10.254")!))
        #expect(!network.contains(IPAddress("10.10.11.1")!))
        #expect(!network.contains(IPAddress("::1")!))
        let v6 = try #require(IPNetwork("2001:db8::/64"))
        #expect(v6.contains(IPAddress("2001:db8::30")!))
        #expect(!v6.contains(IPAddress("2001:db9::30")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(IPNetwork("10.0.0.0/33") == nil)
    }
}

@Suite struct UTCTimeTests {
    @Test func matchesTheCalendar() {
        #expect(UTCTime.day(0) == "1970-01-01")
        #expect(UTCTime.seedTimestamp(1_722_589_947) == "2024-08-02 09:12:27")
        #expect(UTCTime.seedTimestamp(0) == "1970-01-01 00:00:00" && UTCTime.seedTimestamp(-1) == "1969-12-31 23:59:59")
        #expect(UTCTime.seedTimestamp(253_402_300_799) == "9999-12-31 23:59:59" && UTCTime.seedTimestamp(253_402_300_800) == "10000-01-01 00:00:00")
        // Every second of a sample of days reads as the formatter writes it.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        for seconds in stride(from: Int64(-2_208_988_800), to: 4_102_444_800, by: 7_919_993) {
            #expect(UTCTime.seedTimestamp(seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
        #expect(UTCTime.day(951_782_400) == "2000-02-29")
        #expect(UTCTime.day(-86_400) == "1969-12-31")
        #expect(UTCTime.iso8601(Date(timeIntervalSince1970: 1_722_589_947.25)) == "2024-08-02T09:12:27.250Z")
        // Every day of 1999-2101 against Foundation's calendar.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(10_592), to: 48_000, by: 1) {
            let components = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(day * 86_400)))
            let civil = UTCTime.civil(days: day)
            if civil.year != Int64(components.year!) || civil.month != Int64(components.month!) || civil.day != Int64(components.day!) {
                Issue.record("day \(day): \(civil) vs \(components)")
                break
            }
        }
    }
}
