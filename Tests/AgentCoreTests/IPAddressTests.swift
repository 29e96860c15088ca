import AgentCore
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
