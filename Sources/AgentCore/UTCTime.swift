import Foundation

/// UTC calendar arithmetic without formatters (which are slow to create and not safe to share).
public enum UTCTime {
    /// (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's civil_from_days).
    public static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `2024-08-02`
    public static func day(_ seconds: Int64) -> String {
        let (year, month, day) = civil(days: floorDivide(seconds, 86_400))
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// `2024-08-02 09:12:27`, the controller's format. Written digit by digit: a 30-day graph writes 8,640 of them.
    public static func seedTimestamp(_ seconds: Int64) -> String {
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(days: days)
        guard (0...9999).contains(year) else {
            return "\(self.day(seconds)) \(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2))"
        }
        return String(unsafeUninitializedCapacity: 19) { text in
            var index = 0
            func put(_ value: Int64, digits: Int, then separator: UInt8?) {
                var divisor: Int64 = 1
                for _ in 1..<digits { divisor *= 10 }
                for _ in 0..<digits {
                    text[index] = UInt8(ascii: "0") + UInt8(value / divisor % 10)
                    index += 1
                    divisor /= 10
                }
                if let separator {
                    text[index] = separator
                    index += 1
                }
            }
            put(year, digits: 4, then: UInt8(ascii: "-"))
            put(month, digits: 2, then: UInt8(ascii: "-"))
            put(day, digits: 2, then: UInt8(ascii: " "))
            put(secondOfDay / 3600, digits: 2, then: UInt8(ascii: ":"))
            put(secondOfDay % 3600 / 60, digits: 2, then: UInt8(ascii: ":"))
            put(secondOfDay % 60, digits: 2, then: nil)
            return index
        }
    }

    /// `2024-08-02T09:12:27.123Z`
    public static func iso8601(_ date: Date) -> String {
        let total = date.timeIntervalSince1970
        let seconds = Int64(total.rounded(.down))
        let milliseconds = min(999, Int64(((total - Double(seconds)) * 1000).rounded(.down)))
        return seedTimestamp(seconds).replacingOccurrences(of: " ", with: "T") + ".\(pad(milliseconds, 3))Z"
    }

    /// The start (UTC midnight) of the day holding `seconds`.
    public static func dayStart(_ seconds: Int64) -> Int64 {
        floorDivide(seconds, 86_400) * 86_400
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
