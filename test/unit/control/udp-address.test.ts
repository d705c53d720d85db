import { expect, test } from "bun:test";
import { isLoopbackHost, multicastInterface, showUdp } from "../../../src/control/udp-address.ts";

test.each([
  ["127.0.0.1", true], ["127.1.2.3", true], ["localhost", true], ["::1", true], ["LOCALHOST", true],
  ["0.0.0.0", false], ["::", false], ["10.0.0.1", false], ["239.1.1.1", false], ["example.com", false], ["127.example.com", false],
])("isLoopbackHost(%j) is %p", (host, loopback) => {
  expect(isLoopbackHost(host)).toBe(loopback);
});

test("showUdp writes addresses as the configuration does", () => {
  expect(showUdp({ host: "127.0.0.1", port: 9999, iface: null })).toBe("udp://127.0.0.1:9999");
  expect(showUdp({ host: "239.0.0.1", port: 9, iface: "eth0" })).toBe("udp://239.0.0.1:9@eth0");
  expect(showUdp({ host: "ff02::1", port: 9, iface: null })).toBe("udp://[ff02::1]:9");
});

test("multicastInterface picks the interface's IPv4 address, or ::%iface for IPv6", () => {
  const table = {
    eth0: [{ address: "fe80::1", family: "IPv6" }, { address: "10.1.2.3", family: "IPv4" }],
    v6only: [{ address: "fe80::2", family: "IPv6" }],
  };
  expect(multicastInterface("eth0", false, table)).toBe("10.1.2.3");
  expect(multicastInterface("eth0", true, table)).toBe("::%eth0");
  expect(multicastInterface("v6only", false, table)).toBeNull();
  expect(multicastInterface("eth9", false, table)).toBeNull();
});
