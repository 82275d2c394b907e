import fc from 'fast-check';
import { peekLineHead, searchableAlternatives, searchableNeedle } from '../../../lib/logs/line-peek';

const peek = (line: string) => {
  const buf = Buffer.from(`xx\n${line}\nyy`);
  return peekLineHead(buf, 3, 3 + Buffer.byteLength(line));
};

describe('peekLineHead', () => {
  it('reads the level rank and time of a Powertools line without parsing it', () => {
    expect(peek('{"level":"WARN","message":"chunk \\"x\\" failed","timestamp":"2026-11-02T10:00:01.234Z","service":"s"}')).toEqual({ levelRank: 3, time: Date.UTC(2026, 10, 2, 10, 0, 1, 234) });
    expect(peek('{"level":"critical","message":"m","timestamp":"2026-11-02T10:00:00+01:00"}')).toEqual({ levelRank: 5, time: Date.UTC(2026, 10, 2, 9) });
  });

  it('gives the level alone when the time does not follow the message', () => {
    expect(peek('{"level":"INFO","message":"m","nodeId":"a","timestamp":"2026-11-02T10:00:00Z"}')).toEqual({ levelRank: 2 });
    expect(peek('{"level":"INFO","message":"m","timestamp":"not a time"}')).toEqual({ levelRank: 2 });
  });

  it('ranks a level no search accepts as -1', () => {
    expect(peek('{"level":"SILENT","message":"m"}')).toEqual({ levelRank: -1 });
    expect(peek('{"level":"","message":"m"}')).toEqual({ levelRank: -1 });
  });

  it('says nothing about lines in another layout, plain text or cut short', () => {
    expect(peek('{"timestamp":"2026-11-02T10:00:00Z","level":"ERROR"}')).toBeUndefined();
    expect(peek('{ "level": "ERROR" }')).toBeUndefined();
    expect(peek('Error: boom')).toBeUndefined();
    expect(peek('{"level":"ERR')).toBeUndefined();
  });
});

describe('searchableNeedle', () => {
  const part = (needle: string) => searchableNeedle(Buffer.from(needle)).toString();

  it('drops the quotes of long needles', () => {
    expect(part('"3d7f3dec9bc3089d2581444180bfd9aa-000007"')).toBe('3d7f3dec9bc3089d2581444180bfd9aa-000007');
    expect(part('"3d7f3dec9bc3089d2581444180bfd9aa')).toBe('3d7f3dec9bc3089d2581444180bfd9aa');
  });

  it('starts a short needle at its rarest byte, keeping the closing quote when it can', () => {
    expect(part('"ERROR"')).toBe('ERROR"');
    expect(part('"error"')).toBe('rror"');
    expect(part('"agent-3"')).toBe('gent-3"');
    expect(part('"CRITICAL"')).toBe('ITICAL"');
    expect(part('SlowDown')).toBe('SlowDow');
    expect(part('"o1"')).toBe('"o1"');
  });

  it('always returns a part of the needle', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => Buffer.from(s).indexOf(searchableNeedle(Buffer.from(s))) !== -1));
  });
});

describe('searchableAlternatives', () => {
  it('drops an alternative that contains another one', () => {
    expect(searchableAlternatives(['"error"', '"Error"', '"ERROR"', '"error"'].map((s) => Buffer.from(s))).map(String)).toEqual(['rror"', 'ERROR"']);
  });
});
