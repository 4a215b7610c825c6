import Foundation

/// Writes a libvirt test-driver node file (`test:///abs/path.xml`) describing one bare-metal host.
public enum TestDriverHost {
    /// A host with `cores` logical CPUs (sockets × cores × threads) and `memoryGiB` of memory; returns the URI.
    public static func write(to path: String, cores: Int = 64, memoryGiB: Int = 256) throws -> String {
        let sockets = 2
        let threads = 2
        let perSocket = max(1, cores / (sockets * threads))
        let xml = """
            <node>
              <cpu>
                <mhz>2400</mhz>
                <model>x86_64</model>
                <nodes>1</nodes>
                <sockets>\(sockets)</sockets>
                <cores>\(perSocket)</cores>
                <threads>\(threads)</threads>
                <active>\(cores)</active>
              </cpu>
              <memory>\(memoryGiB * 1024 * 1024)</memory>
            </node>
            """
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        return "test://\(path)"
    }
}
