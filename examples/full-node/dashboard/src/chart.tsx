import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/** One line of a {@link TimeChart}. */
export interface ChartLine {
  label: string
  values: number[]
  color: string
  /** Draw as bars (counts) instead of a stepped line. */
  bars?: boolean
}

/** A uPlot time chart: `times` in Unix ms, one or more series over them. Redrawn when the data change. */
export function TimeChart({
  times,
  lines,
  title,
  testid,
  points
}: {
  times: number[]
  lines: ChartLine[]
  title: string
  testid?: string
  /** The number of data points behind the chart (shown as `data-points`, for tests). */
  points?: number
}) {
  const host = useRef<HTMLDivElement>(null)
  const key = JSON.stringify([times, lines.map((l) => l.values)])

  useEffect(() => {
    const el = host.current
    if (el == null) return
    const width = Math.max(320, el.clientWidth || 560)
    const opts: uPlot.Options = {
      title,
      width,
      height: 220,
      scales: { x: { time: true } },
      series: [
        {},
        ...lines.map((l): uPlot.Series => {
          const paths = l.bars ? uPlot.paths.bars?.({ size: [0.6, 40] }) : uPlot.paths.stepped?.({ align: 1 })
          return {
            label: l.label,
            stroke: l.color,
            width: 2,
            fill: l.bars ? `${l.color}55` : `${l.color}22`,
            ...(paths != null ? { paths } : {})
          }
        })
      ],
      axes: [{}, { size: 60 }]
    }
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...lines.map((l) => l.values)]
    const plot = new uPlot(opts, data, el)
    return () => plot.destroy()
  }, [key, title])

  return <div class="chart" ref={host} data-testid={testid} data-points={points ?? times.length} />
}
