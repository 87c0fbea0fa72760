using System.Diagnostics;
using System.Globalization;

namespace OpenSciServer.Tests.Astro;

/// <summary>
/// Reference values computed once per test run by healpy (Debian's python3-healpy under /usr/bin/python3) for a fixed
/// set of points, pixels and discs. The script draws its inputs from a seeded generator, so every run sees the same cases.
/// </summary>
public sealed class HealpyReference
{
    public static readonly int[] Orders = [0, 1, 5, 10, 16, 29];

    public List<(int Order, double Ra, double Dec, long Pix)> Ang2Pix { get; } = [];

    public List<(int Order, long Pix, double Ra, double Dec)> Pix2Ang { get; } = [];

    public List<(int Order, long Pix, long[] Neighbours)> Neighbours { get; } = [];

    public List<(int Order, double Ra, double Dec, double Radius, long[] Pixels)> Discs { get; } = [];

    public HealpyReference()
    {
        var dir = Directory.CreateTempSubdirectory("healpy-ref-");
        try
        {
            var script = Path.Combine(dir.FullName, "reference.py");
            var output = Path.Combine(dir.FullName, "reference.txt");
            File.WriteAllText(script, Script);
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(output);
            start.ArgumentList.Add(string.Join(",", Orders));
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    "healpy reference script failed (is python3-healpy installed? apt-get install -y python3-healpy): " + stderr);
            }

            foreach (var line in File.ReadLines(output))
            {
                var f = line.Split(' ');
                var order = int.Parse(f[1], CultureInfo.InvariantCulture);
                switch (f[0])
                {
                    case "A":
                        Ang2Pix.Add((order, D(f[2]), D(f[3]), L(f[4])));
                        break;
                    case "P":
                        Pix2Ang.Add((order, L(f[2]), D(f[3]), D(f[4])));
                        break;
                    case "N":
                        Neighbours.Add((order, L(f[2]), f[3..].Select(L).ToArray()));
                        break;
                    case "D":
                        Discs.Add((order, D(f[2]), D(f[3]), D(f[4]), f[5..].Where(s => s.Length > 0).Select(L).ToArray()));
                        break;
                    default:
                        throw new InvalidDataException("Unexpected reference line: " + line);
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    private static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    private const string Script = """
        import sys
        import numpy as np
        import healpy as hp

        out_path, orders = sys.argv[1], [int(o) for o in sys.argv[2].split(",")]
        rng = np.random.default_rng(20261125)

        # Points: uniform on the sphere, plus poles, the ra = 0/360 seam, the cap/belt boundary and face corners,
        # and centres of coarse pixels (which are corners and edges of finer ones).
        ra = list(rng.uniform(0, 360, 2000))
        dec = list(np.degrees(np.arcsin(rng.uniform(-1, 1, 2000))))
        cap = float(np.degrees(np.arcsin(2 / 3)))
        for r in [0.0, 360.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0, 359.9999999999, 1e-12, 12.345]:
            for d in [90.0, -90.0, 0.0, cap, -cap, 89.9999999, -89.9999999, 41.8103148957786, 45.0, -30.0]:
                ra.append(r); dec.append(d)
        for o in [0, 1, 2, 5]:
            for p in range(0, hp.nside2npix(2 ** o), max(1, hp.nside2npix(2 ** o) // 60)):
                lo, la = hp.pix2ang(2 ** o, p, nest=True, lonlat=True)
                ra.append(float(lo)); dec.append(float(la))
        ra = np.array(ra); dec = np.array(dec)

        with open(out_path, "w") as out:
            for o in orders:
                nside = 2 ** o
                pix = hp.ang2pix(nside, ra, dec, nest=True, lonlat=True)
                for r, d, p in zip(ra, dec, pix):
                    out.write(f"A {o} {r!r} {d!r} {int(p)}\n")

                npix = hp.nside2npix(nside)
                pixels = set(int(p) for p in rng.integers(0, npix, 300))
                # First and last pixel of every face, and the face corners, where neighbours wrap or go missing.
                for f in range(12):
                    base = f * nside * nside
                    pixels.update([base, base + nside * nside - 1, base + 1 if nside > 1 else base,
                                   int(hp.xyf2pix(nside, nside - 1, 0, f, nest=True)),
                                   int(hp.xyf2pix(nside, 0, nside - 1, f, nest=True))])
                pixels = sorted(pixels)
                lon, lat = hp.pix2ang(nside, pixels, nest=True, lonlat=True)
                neigh = hp.get_all_neighbours(nside, pixels, nest=True)
                for i, p in enumerate(pixels):
                    out.write(f"P {o} {p} {float(lon[i])!r} {float(lat[i])!r}\n")
                    out.write("N {} {} {}\n".format(o, p, " ".join(str(int(n)) for n in neigh[:, i])))

            discs = [(0.0, 90.0, 1.0), (0.0, -90.0, 5.0), (123.0, 89.99, 0.5), (359.999, 0.0, 2.0), (0.0, 0.0, 10.0),
                     (0.0, 41.8103148957786, 3.0), (45.0, 0.0, 1 / 3600), (0.0, 90.0, 1 / 3600), (180.0, -89.9, 1 / 60),
                     (10.0, 20.0, 1e-3), (300.0, -45.0, 7.5), (359.9, 60.0, 0.2),
                     # Milliarcsecond discs, the only ones small enough to ask for at order 29.
                     (0.0, 90.0, 1e-6), (45.0, 0.0, 1e-6), (200.0, 41.8103148957786, 2e-7), (359.99999999, -89.9999, 1e-6),
                     (77.7, -12.3, 5e-7)]
            for _ in range(40):
                r = float(rng.uniform(0, 360)); d = float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
                discs.append((r, d, float(10 ** rng.uniform(np.log10(1 / 3600), 1))))
            for o in orders:
                nside = 2 ** o
                # healpy needs nside * fact <= 2^29; the pixel area bounds the size of the answer.
                fact = min(4, 2 ** (29 - o))
                area = 4 * np.pi / hp.nside2npix(nside)
                for r, d, rad in discs:
                    n = np.pi * np.radians(rad) ** 2 / area + 4 * 2 * np.pi * np.radians(rad) / np.sqrt(area)
                    if n > 300000:
                        continue
                    vec = hp.ang2vec(r, d, lonlat=True)
                    found = hp.query_disc(nside, vec, np.radians(rad), inclusive=True, fact=fact, nest=True)
                    out.write("D {} {!r} {!r} {!r} {}\n".format(o, r, d, rad, " ".join(str(int(p)) for p in found)))
        """;
}
