// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "rackagent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rackagent", targets: ["rackagent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(name: "CNetSNMP", pkgConfig: "netsnmp", providers: [.apt(["libsnmp-dev"])]),
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
        .target(name: "AgentCore", dependencies: [
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "IPMI", dependencies: ["AgentCore"]),
        .target(name: "SNMP", dependencies: [
            "AgentCore", "CNetSNMP",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "PDU", dependencies: ["SNMP"]),
        .target(name: "SwitchSSH", dependencies: ["AgentCore", "CLibSSH2"]),
        .target(name: "Provisioning", dependencies: [
            "AgentCore",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        .target(name: "Providers", dependencies: ["AgentCore"]),
        .target(name: "Power", dependencies: ["IPMI", "PDU", "Providers"]),
        .target(name: "ControllerAPI", dependencies: [
            "AgentCore", "IPMI", "SNMP", "PDU", "SwitchSSH", "Provisioning", "Providers", "Power",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .executableTarget(name: "rackagent", dependencies: [
            "ControllerAPI", "IPMI", "Power", "SNMP",
            // Benchmarks start the same real peers the tests use.
            "PeerHarness",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .target(name: "PeerHarness", dependencies: [
            "AgentCore",
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Tests/PeerHarness"),
        .testTarget(name: "AgentCoreTests", dependencies: ["AgentCore", "PeerHarness"]),
        .testTarget(name: "IPMITests", dependencies: ["IPMI", "Power", "PeerHarness"]),
        .testTarget(name: "ControllerAPITests", dependencies: [
            "ControllerAPI", "PeerHarness",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
    ]
)
