import AgentCore

/// A virtual media device (`VirtualMedia`) as the BMC reports it.
public struct VirtualMediaDevice: Sendable, Codable, Equatable {
    public var path: String
    public var id: String?
    public var mediaTypes: [String]
    /// The image URL mounted, or nil (BMCs report `""` or null when empty).
    public var image: String?
    public var inserted: Bool
    public var writeProtected: Bool?
    var insertTarget: String?
    var ejectTarget: String?

    public init(path: String, document: JSONValue) {
        self.path = path
        id = document["Id"]?.stringValue
        mediaTypes = document.strings("MediaTypes") ?? []
        image = document["Image"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        inserted = document["Inserted"]?.boolValue ?? false
        writeProtected = document["WriteProtected"]?.boolValue
        insertTarget = document["Actions"]?["#VirtualMedia.InsertMedia"]?["target"]?.stringValue.flatMap(RedfishPath.checked)
        ejectTarget = document["Actions"]?["#VirtualMedia.EjectMedia"]?["target"]?.stringValue.flatMap(RedfishPath.checked)
    }

    /// A CD or DVD drive: where an ISO goes.
    public var isOptical: Bool { mediaTypes.contains { $0 == "CD" || $0 == "DVD" } }

    enum CodingKeys: String, CodingKey { case path, id, mediaTypes, image, inserted, writeProtected }
}

/// What a virtual media change left on the BMC, read back.
public struct VirtualMediaReport: Sendable, Codable, Equatable {
    public var result = "executed"
    /// `insert` or `eject`.
    public var action: String
    public var device: VirtualMediaDevice
    /// True when the read-back shows the image mounted (insert) or nothing mounted (eject).
    public var verified: Bool
    /// The boot override set afterwards (insert with boot once), read back.
    public var boot: RedfishBootReport?
}

extension RedfishService {
    /// The optical virtual media device of the system (its own `VirtualMedia`, else its manager's).
    public func opticalMedia(_ connection: RedfishConnection) async throws -> VirtualMediaDevice {
        let system = try await self.system(connection)
        var collection = try await document(system.path, connection).link("VirtualMedia")
        if collection == nil { collection = try await manager(connection).virtualMedia }
        guard let collection else { throw RedfishError.unsupported(bmc: connection.address, detail: "the BMC offers no virtual media") }
        for member in try await document(collection, connection).links().prefix(Self.maximumMembers) {
            let device = VirtualMediaDevice(path: member, document: try await document(member, connection))
            if device.isOptical { return device }
        }
        throw RedfishError.unsupported(bmc: connection.address, detail: "no CD or DVD among the virtual media devices")
    }

    /// Mounts `imageURL` on the optical device (ejecting what is there first), reads it back, and with `bootOnce` sets
    /// the next boot to the CD and reads that back too.
    public func insertMedia(imageURL: String, bootOnce: Bool, _ connection: RedfishConnection) async throws -> VirtualMediaReport {
        let name = "virtual media insert on Redfish BMC \(connection.address)"
        let device: VirtualMediaDevice
        do {
            device = try await opticalMedia(connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        guard let insert = device.insertTarget else {
            throw DeviceActionFailure.beforeSending(name, RedfishError.unsupported(bmc: connection.address, detail: "the virtual CD has no InsertMedia action"))
        }
        var ejected = false
        do {
            if device.inserted, let eject = device.ejectTarget {
                _ = try await client.post(eject, body: [:], on: connection)
                ejected = true
            }
            _ = try await client.post(insert, body: ["Image": .string(imageURL), "Inserted": true, "WriteProtected": true], on: connection)
        } catch let error where !(error is CancellationError) {
            // After an eject the BMC has changed something even when the insert was refused.
            throw ejected ? DeviceActionFailure.afterAcceptance(name, error) : DeviceActionFailure.whileSending(name, error)
        }
        let mounted: VirtualMediaDevice
        do {
            mounted = VirtualMediaDevice(path: device.path, document: try await document(device.path, connection))
            guard mounted.inserted, mounted.image == imageURL else {
                throw RedfishError.verificationFailed(
                    bmc: connection.address, expected: "\(imageURL) inserted", actual: "\(mounted.image ?? "no image"), inserted \(mounted.inserted)")
            }
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
        let boot = bootOnce ? try await setBootOverride(.cd, persistent: false, uefi: nil, connection) : nil
        return VirtualMediaReport(action: "insert", device: mounted, verified: true, boot: boot)
    }

    /// Ejects what the optical device holds and reads back that nothing is mounted.
    public func ejectMedia(_ connection: RedfishConnection) async throws -> VirtualMediaReport {
        let name = "virtual media eject on Redfish BMC \(connection.address)"
        let device: VirtualMediaDevice
        do {
            device = try await opticalMedia(connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        guard device.inserted || device.image != nil else { return VirtualMediaReport(action: "eject", device: device, verified: true, boot: nil) }
        guard let eject = device.ejectTarget else {
            throw DeviceActionFailure.beforeSending(name, RedfishError.unsupported(bmc: connection.address, detail: "the virtual CD has no EjectMedia action"))
        }
        do {
            _ = try await client.post(eject, body: [:], on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        do {
            let after = VirtualMediaDevice(path: device.path, document: try await document(device.path, connection))
            guard !after.inserted else {
                throw RedfishError.verificationFailed(bmc: connection.address, expected: "no media inserted", actual: after.image ?? "media inserted")
            }
            return VirtualMediaReport(action: "eject", device: after, verified: true, boot: nil)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
    }
}
